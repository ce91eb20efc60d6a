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
    expect(decodeCrateRecord(text)).toEqual(record);
  });

  it("writes version 2 only for a crate with advisories, and round-trips them", () => {
    const record = {
      crate: "rustls",
      versions: new Map([["0.23.18", 1_700_000_000]]),
      advisories: [{ id: "RUSTSEC-2026-0001", patched: [">= 0.23.18"] }],
    };
    const text = encodeCrateRecord(record);
    expect(JSON.parse(text).v).toBe(2);
    expect(decodeCrateRecord(text)).toEqual(record);
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
  ])("refuses %s", (_, text) => {
    expect(() => decodeCrateRecord(text)).toThrow(RecordFormatError);
  });
});
