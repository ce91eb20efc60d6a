import { describe, expect, it } from "vitest";
import { scanIndexFile } from "../../src/core/index-file.ts";
import { indexLine } from "../support/in-memory-ports.ts";

const AT = Date.UTC(2026, 10, 1, 12, 0, 0) / 1000;

describe("scanIndexFile", () => {
  it("reads vers, yanked and pubtime from crates.io's lines and locates each line", () => {
    const a = indexLine({ name: "foo", vers: "1.0.0", pubtime: AT });
    const b = indexLine({ name: "foo", vers: "1.1.0+build.5", yanked: true });
    const file = scanIndexFile(a + b);
    expect(file.lines).toEqual([
      { start: 0, end: a.length, version: "1.0.0", yanked: false, pubtime: AT, hasPubtimeKey: true },
      {
        start: a.length,
        end: a.length + b.length,
        version: "1.1.0+build.5",
        yanked: true,
        pubtime: null,
        hasPubtimeKey: false,
      },
    ]);
    expect(file.linesWithoutPubtime).toBe(1);
    expect(file.linesWithPubtimeKey).toBe(1);
  });

  it("keeps a last line without a trailing newline", () => {
    const line = indexLine({ name: "foo", vers: "1.0.0" }).trimEnd();
    const file = scanIndexFile(line);
    expect(file.lines).toHaveLength(1);
    expect(file.lines[0]).toMatchObject({ start: 0, end: line.length, version: "1.0.0" });
  });

  it("treats a malformed pubtime as absent", () => {
    for (const bad of [
      "2026-11-01T12:00:00.5Z",
      "2026-11-01 12:00:00Z",
      "2026-11-01T12:00:00+00:00",
      "2026-02-30T00:00:00Z",
      "2026-11-01T12:00:00z",
    ]) {
      const file = scanIndexFile(indexLine({ name: "foo", vers: "1.0.0", pubtime: bad }));
      expect(file.lines[0]?.pubtime, bad).toBeNull();
      expect(file.linesWithoutPubtime).toBe(1);
      expect(file.linesWithPubtimeKey).toBe(1);
    }
  });

  it("is not fooled by a feature named like a field", () => {
    const line = indexLine({ name: "foo", vers: "2.0.0", features: { yanked: ["vers", "pubtime"], vers: [] } });
    expect(scanIndexFile(line).lines[0]).toMatchObject({ version: "2.0.0", yanked: false, pubtime: null });
  });

  it("is not fooled by an escaped look-alike inside a string", () => {
    const line = `{"name":"foo","vers":"1.0.0","deps":[],"cksum":"x","features":{"a":["\\"vers\\":\\"9.9.9\\",\\"yanked\\":true"]},"yanked":false}\n`;
    expect(scanIndexFile(line).lines[0]).toMatchObject({ version: "1.0.0", yanked: false });
  });

  it("reads keys spelled with \\u escapes the way JSON.parse does", () => {
    const line = `{"name":"foo","v\\u0065rs":"3.0.0","deps":[],"cksum":"x","features":{},"yank\\u0065d":true}\n`;
    expect(scanIndexFile(line).lines[0]).toMatchObject({ version: "3.0.0", yanked: true });
  });

  it("reads odd field order and whitespace between tokens", () => {
    const line = `{ "pubtime" : "2026-11-01T12:00:00Z", "yanked" : true , "vers" : "0.1.0", "name": "foo" }\n`;
    expect(scanIndexFile(line).lines[0]).toMatchObject({ version: "0.1.0", yanked: true, pubtime: AT });
  });

  it("takes the last of duplicated keys, as JSON.parse does", () => {
    const line = `{"name":"foo","vers":"1.0.0","vers":"2.0.0","yanked":true,"yanked":false}\n`;
    expect(scanIndexFile(line).lines[0]).toMatchObject({ version: "2.0.0", yanked: false });
  });

  it("marks lines it cannot read as entries: empty, truncated, not JSON, vers not a string, yanked not a bool", () => {
    const full = indexLine({ name: "foo", vers: "1.0.0" });
    const body = [
      "\n",
      `${full.slice(0, 40)}\n`,
      "<html>\n",
      `{"name":"foo","vers":1}\n`,
      `{"name":"foo","vers":"1.0.0","yanked":"true"}\n`,
      full.slice(0, -5),
    ].join("");
    const lines = scanIndexFile(body).lines;
    expect(lines).toHaveLength(6);
    expect(lines.map((line) => line.version)).toEqual([null, null, null, null, null, null]);
  });

  it("reads non-ASCII text around the fields and keeps offsets in UTF-16 units of the decoded text", () => {
    const first = `{"name":"foo","vers":"1.0.0","deps":[],"cksum":"x","features":{"é😀":[]},"yanked":false}\n`;
    const second = indexLine({ name: "foo", vers: "1.0.1" });
    const file = scanIndexFile(first + second);
    expect(file.lines[1]).toMatchObject({ start: first.length, version: "1.0.1" });
  });
});
