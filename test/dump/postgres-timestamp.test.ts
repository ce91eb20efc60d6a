import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  formatPostgresTimestamp,
  parsePostgresTimestamp,
  parsePostgresTimestampText,
} from "../../src/dump/postgres-timestamp.ts";

const at = Date.UTC(2025, 8, 17, 14, 51, 15) / 1000;

describe("parsePostgresTimestamp", () => {
  it.each([
    ["2025-09-17 14:51:15+00", at],
    ["2025-09-17 14:51:15.0+00", at],
    ["2025-09-17 14:51:15.07702+00", at],
    ["2025-09-17 14:51:15.999999+00", at],
    ["2025-09-17 14:51:15.5", at],
    ["2025-09-17 14:51:15", at],
    ["2025-09-17 16:51:15+02", at],
    ["2025-09-17 20:21:15.1+05:30", at],
    ["2025-09-17 09:51:15-0500", at],
    ["2024-02-29 00:00:00+00", Date.UTC(2024, 1, 29) / 1000],
    ["1970-01-01 00:00:00+00", 0],
  ])("reads %s as whole seconds, the fraction truncated (index pubtime = created_at truncated)", (text, expected) => {
    expect(parsePostgresTimestampText(text)).toBe(expected);
  });

  it.each([
    "2025-09-17T14:51:15+00",
    "2025-09-17 14:51:15.+00",
    "2025-09-17 14:51:15.1234567+00",
    "2025-09-17 14:51+00",
    "2025-02-29 00:00:00+00",
    "2025-13-01 00:00:00+00",
    "2025-09-31 00:00:00+00",
    "2025-09-17 24:00:00+00",
    "2025-09-17 14:60:00+00",
    "2025-09-17 14:51:60+00",
    "2025-09-17 14:51:15 +00",
    "2025-09-17 14:51:15+0",
    "2025-09-17 14:51:15Z",
    "yesterday",
    "",
    "2025-09-17 14:51:15+00 ",
  ])("refuses %j", (text) => {
    expect(parsePostgresTimestampText(text)).toBeNaN();
  });

  it("reads a value in the middle of a larger buffer without looking past its end", () => {
    const bytes = Buffer.from('x,"2025-09-17 14:51:15.07702+00",9');
    expect(parsePostgresTimestamp(bytes, 3, 31)).toBe(at);
  });

  it("agrees with Date.parse on every second of 1970–2099 with 0 to 6 fraction digits", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_102_444_799 }),
        fc.integer({ min: 0, max: 6 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        (seconds, digits, fraction) => {
          const text = formatPostgresTimestamp(seconds, digits, fraction);
          expect(parsePostgresTimestampText(text)).toBe(seconds);
          expect(Math.floor(Date.parse(text.replace(" ", "T").replace("+00", "Z")) / 1000)).toBe(seconds);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
