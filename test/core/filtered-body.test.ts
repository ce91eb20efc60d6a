import { describe, expect, it } from "vitest";
import { filteredBodyBytes } from "../../src/core/filtered-body.ts";
import { scanIndexFile } from "../../src/core/index-file.ts";
import { filterIndexFile } from "../../src/core/index-filter.ts";
import { defaultRules } from "../../src/core/policy.ts";
import { DAY, indexLine } from "../support/in-memory-ports.ts";
import { windowOf } from "../support/window-of.ts";

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0) / 1000;
const SEVEN_DAYS = windowOf("7d");
const RULES = { ...defaultRules(false), securityFixes: { enabled: false, floor: 3600 } };

/** One line per age in days; a negative age marks a yanked line. */
function indexText(ages: readonly number[], name = "foo"): string {
  return ages
    .map((age, i) =>
      indexLine({ name, vers: `1.0.${i}`, pubtime: NOW - Math.abs(age) * DAY, ...(age < 0 ? { yanked: true } : {}) }),
    )
    .join("");
}

function bodyOf(text: string, upstream: Uint8Array<ArrayBuffer> = new TextEncoder().encode(text)) {
  const file = scanIndexFile(text);
  const filtered = filterIndexFile("foo", file, null, SEVEN_DAYS, NOW, RULES);
  return { bytes: filteredBodyBytes(upstream, file.textLength, filtered), filtered, upstream };
}

describe("filteredBodyBytes", () => {
  it("copies the kept lines' bytes, in order, across scattered and consecutive runs", () => {
    // kept: 0, 1 | hidden 2 | kept 3 | hidden 4, 5 (young, yanked) | kept 6, 7, 8 | hidden 9
    const text = indexText([30, 20, 1, 40, 2, -50, 10, 11, 12, 3]);
    const { bytes, filtered } = bodyOf(text);
    expect(filtered.kept).toBe(6);
    expect(new TextDecoder().decode(bytes)).toBe(filtered.body);
  });

  it("reads from the view's own offset when the upstream bytes sit inside a larger buffer", () => {
    const text = indexText([30, 1, 40]);
    const encoded = new TextEncoder().encode(text);
    const padded = new Uint8Array(encoded.byteLength + 64);
    padded.fill(0x21);
    padded.set(encoded, 32);
    const { bytes, filtered } = bodyOf(text, padded.subarray(32, 32 + encoded.byteLength));
    expect(new TextDecoder().decode(bytes)).toBe(filtered.body);
  });

  it("returns upstream's own bytes when nothing is hidden", () => {
    const { bytes, upstream } = bodyOf(indexText([30, 40]));
    expect(bytes).toBe(upstream);
  });

  it("gives a view of upstream's own bytes, not a copy, when the kept lines are one run", () => {
    const text = indexText([30, 40, 20, 1, 2]);
    const encoded = new TextEncoder().encode(text);
    const padded = new Uint8Array(encoded.byteLength + 64);
    padded.set(encoded, 32);
    const upstream = padded.subarray(32, 32 + encoded.byteLength);
    const { bytes, filtered } = bodyOf(text, upstream);
    expect(filtered.kept).toBe(3);
    expect(bytes.buffer).toBe(padded.buffer);
    expect(bytes.byteOffset).toBe(32);
    expect(new TextDecoder().decode(bytes)).toBe(filtered.body);
    const middle = bodyOf(indexText([1, 30, 40, 2]));
    expect(middle.bytes.buffer).toBe(middle.upstream.buffer);
    expect(new TextDecoder().decode(middle.bytes)).toBe(middle.filtered.body);
  });

  it("gives an empty body when every line is hidden", () => {
    const { bytes } = bodyOf(indexText([1, -30, 2]));
    expect(bytes.byteLength).toBe(0);
  });

  it("encodes the kept text when the body is not ASCII (character offsets are not byte offsets)", () => {
    const text = indexText([30]).replace('"deps":[]', '"deps":[],"description":"héllo ✓"') + indexText([1]);
    const { bytes, filtered } = bodyOf(text);
    expect(filtered.kept).toBe(1);
    expect(bytes).toEqual(new TextEncoder().encode(text.slice(0, text.indexOf("\n") + 1)));
  });
});
