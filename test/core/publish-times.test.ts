import { describe, expect, it } from "vitest";
import { decodeCrateRecord, encodeCrateRecord, RecordFormatError, RECORD_FORMAT_VERSION } from "../../src/core/publish-times.ts";

describe("crate record codec", () => {
  it("round-trips versions with build metadata and pre-releases", () => {
    const record = { crate: "serde", versions: new Map([["1.0.0", 1_500_000_000], ["1.0.1-alpha.1+build.7", 1_600_000_000]]) };
    const text = encodeCrateRecord(record);
    expect(JSON.parse(text)).toEqual({ v: RECORD_FORMAT_VERSION, crate: "serde", times: { "1.0.0": 1_500_000_000, "1.0.1-alpha.1+build.7": 1_600_000_000 } });
    expect(decodeCrateRecord(text)).toEqual(record);
  });

  it.each([
    ["not JSON", "{"],
    ["not an object", "42"],
    ["an unknown format version", '{"v":2,"crate":"x","times":{}}'],
    ["a missing format version", '{"crate":"x","times":{}}'],
    ["no crate name", '{"v":1,"times":{}}'],
    ["no times", '{"v":1,"crate":"x"}'],
    ["a time that is not a number", '{"v":1,"crate":"x","times":{"1.0.0":"yesterday"}}'],
  ])("refuses %s", (_, text) => {
    expect(() => decodeCrateRecord(text)).toThrow(RecordFormatError);
  });
});
