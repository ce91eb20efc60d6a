import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatRfc3339, parsePubtime } from "../../src/core/time.ts";
import { referencePubtime } from "../support/reference-pubtime.ts";

describe("parsePubtime", () => {
  it("reads cargo's format as UTC whole seconds", () => {
    expect(parsePubtime("2026-11-01T12:00:00Z")).toBe(Date.UTC(2026, 10, 1, 12) / 1000);
    expect(parsePubtime("1970-01-01T00:00:00Z")).toBe(0);
    expect(parsePubtime("9999-12-31T23:59:59Z")).toBe(Date.UTC(9999, 11, 31, 23, 59, 59) / 1000);
  });

  it("reads years below 100 as written, not as 19xx", () => {
    expect(parsePubtime("0099-01-01T00:00:00Z")).toBe(referencePubtime("0099-01-01T00:00:00Z"));
    expect(new Date((parsePubtime("0099-01-01T00:00:00Z") as number) * 1000).getUTCFullYear()).toBe(99);
  });

  it("accepts the days that exist and refuses the ones that do not", () => {
    expect(parsePubtime("2024-02-29T00:00:00Z")).toBe(Date.UTC(2024, 1, 29) / 1000);
    expect(parsePubtime("2000-02-29T00:00:00Z")).toBe(Date.UTC(2000, 1, 29) / 1000);
    expect(parsePubtime("2026-01-31T00:00:00Z")).toBe(Date.UTC(2026, 0, 31) / 1000);
    expect(parsePubtime("2026-04-30T00:00:00Z")).toBe(Date.UTC(2026, 3, 30) / 1000);
    for (const missing of [
      "2027-02-29T00:00:00Z",
      "2100-02-29T00:00:00Z",
      "2026-02-30T00:00:00Z",
      "2026-04-31T00:00:00Z",
      "2026-06-31T00:00:00Z",
    ]) {
      expect(parsePubtime(missing), missing).toBeNull();
    }
  });

  it("refuses every other shape, including ones Date.parse would take", () => {
    for (const bad of [
      "2026-11-01T12:00:00.5Z",
      "2026-11-01T12:00:00.000Z",
      "2026-11-01 12:00:00Z",
      "2026-11-01T12:00:00+00:00",
      "2026-11-01T12:00:00z",
      "2026-11-01t12:00:00Z",
      "2026-11-01T12:00:00",
      "2026-11-01",
      "+02026-11-01T12:00:00Z",
      "2026-11-01T24:00:00Z",
      "2026-11-01T12:60:00Z",
      "2026-11-01T12:00:60Z",
      "2026-13-01T00:00:00Z",
      "2026-00-01T00:00:00Z",
      "2026-11-00T00:00:00Z",
      "2026-11-32T00:00:00Z",
      "２０２６-11-01T12:00:00Z",
      "Sun, 01 Nov 2026 12:0",
      "",
    ]) {
      expect(parsePubtime(bad), bad).toBeNull();
    }
  });

  it("agrees with a field-by-field reading on any instant and on damaged strings", () => {
    // From 0000-01-01T00:00:00Z (Date.UTC cannot say it: it reads year 0 as 1900) to the last second of 9999.
    const instant = fc.integer({ min: Date.parse("0000-01-01T00:00:00Z"), max: Date.UTC(9999, 11, 31, 23, 59, 59) });
    fc.assert(
      fc.property(instant, (ms) => {
        const text = formatRfc3339(Math.floor(ms / 1000));
        if (text.length !== 20) return;
        expect(parsePubtime(text)).toBe(referencePubtime(text));
        expect(parsePubtime(text)).toBe(Math.floor(ms / 1000));
      }),
      { numRuns: 2000 },
    );
    const digit = fc.constantFrom(..."0123456789");
    const field = (n: number) => fc.array(digit, { minLength: n, maxLength: n }).map((d) => d.join(""));
    const anyDigits = fc
      .tuple(field(4), field(2), field(2), field(2), field(2), field(2))
      .map(([y, mo, d, h, mi, s]) => `${y}-${mo}-${d}T${h}:${mi}:${s}Z`);
    fc.assert(
      fc.property(fc.oneof(anyDigits, fc.string({ minLength: 20, maxLength: 20 })), (text) => {
        expect(parsePubtime(text)).toBe(referencePubtime(text));
      }),
      { numRuns: 20000 },
    );
  });
});
