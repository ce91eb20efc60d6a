import { describe, expect, it } from "vitest";
import { decodeCrateRecord, encodeCrateRecord, RecordFormatError } from "../../src/core/publish-times.ts";

describe("crate record codec", () => {
  it("round-trips versions with build metadata and pre-releases", () => {
    const record = {
      crate: "serde",
      versions: new Map([
        ["1.0.0", 1_500_000_000],
        ["1.0.1-alpha.1+build.7", 1_600_000_000],
      ]),
    };
    const text = encodeCrateRecord(record);
    expect(JSON.parse(text)).toEqual({
      v: 1,
      crate: "serde",
      times: { "1.0.0": 1_500_000_000, "1.0.1-alpha.1+build.7": 1_600_000_000 },
    });
    const decoded = decodeCrateRecord(text);
    expect({ ...decoded, versions: new Map(decoded.versions) }).toEqual(record);
    expect(decoded.versions.get("1.0.0")).toBe(1_500_000_000);
    expect(decoded.versions.size).toBe(2);
  });

  it("reads a version named like an Object.prototype member as the record says, and absent ones as absent", () => {
    const decoded = decodeCrateRecord('{"v":1,"crate":"x","times":{"__proto__":5,"toString":6}}');
    expect(decoded.versions.get("__proto__")).toBe(5);
    expect(decoded.versions.get("toString")).toBe(6);
    expect(decoded.versions.get("constructor")).toBeUndefined();
    expect(decoded.versions.has("hasOwnProperty")).toBe(false);
    expect([...decoded.versions.keys()]).toEqual(["__proto__", "toString"]);
  });

  it("writes version 2 only for a crate with advisories, and round-trips them", () => {
    const record = {
      crate: "rustls",
      versions: new Map([["0.23.18", 1_700_000_000]]),
      advisories: [{ id: "RUSTSEC-2026-0001", patched: [">= 0.23.18"] }],
    };
    const text = encodeCrateRecord(record);
    expect(JSON.parse(text).v).toBe(2);
    const decoded = decodeCrateRecord(text);
    expect({ ...decoded, versions: new Map(decoded.versions) }).toEqual(record);
    expect(JSON.parse(encodeCrateRecord({ ...record, advisories: [] })).v).toBe(1);
  });

  it.each([
    ["not JSON", "{"],
    ["not an object", "42"],
    ["an unknown format version", '{"v":4,"crate":"x","times":{}}'],
    ["a version 3 record without trust", '{"v":3,"crate":"x","times":{}}'],
    [
      "a malformed trust signal",
      '{"v":3,"crate":"x","times":{},"trust":{"unknown":[],"signals":{"1.0.0":[{"s":"new-publisher"}]}}}',
    ],
    ["a version 2 record without advisories", '{"v":2,"crate":"x","times":{}}'],
    ["a malformed advisory", '{"v":2,"crate":"x","times":{},"advisories":[{"id":1,"patched":[]}]}'],
    ["a missing format version", '{"crate":"x","times":{}}'],
    ["no crate name", '{"v":1,"times":{}}'],
    ["no times", '{"v":1,"crate":"x"}'],
    ["a time that is not a number", '{"v":1,"crate":"x","times":{"1.0.0":"yesterday"}}'],
    ["a time that is null", '{"v":1,"crate":"x","times":{"1.0.0":1,"1.0.1":null}}'],
    ["a time that is an object or a list", '{"v":1,"crate":"x","times":{"1.0.0":[1],"1.0.1":{"a":1}}}'],
    ["a time too large to be finite", '{"v":1,"crate":"x","times":{"1.0.0":1e400}}'],
    ["a time that is a boolean", '{"v":1,"crate":"x","times":{"1.0.0":true}}'],
  ])("refuses %s", (_, text) => {
    expect(() => decodeCrateRecord(text)).toThrow(RecordFormatError);
  });
});
