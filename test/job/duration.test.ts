import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "../../src/job/duration.ts";
import { backoffDelayMs, backoffFor } from "../../src/node/backoff.ts";

describe("parseDuration", () => {
  it.each([
    ["5m", 300_000],
    ["24h", 86_400_000],
    ["1h30m", 5_400_000],
    ["90s", 90_000],
    ["250ms", 250],
    ["2d", 172_800_000],
  ])("reads %s", (text, ms) => {
    expect(parseDuration(text, "--feed-every")).toBe(ms);
  });

  it.each(["", "5", "m", "5 m", "-5m", "0s", "5min", "1h 30m"])(
    "refuses %j with a one-line message naming the flag",
    (text) => {
      expect(() => parseDuration(text, "--feed-every")).toThrow(/^--feed-every ".*" is not a duration; expected /);
    },
  );

  it("formats durations for log lines", () => {
    expect([500, 30_000, 300_000, 5_400_000, 86_400_000].map(formatDuration)).toEqual([
      "500ms",
      "30s",
      "5m",
      "1h30m",
      "24h",
    ]);
  });
});

describe("backoffDelayMs", () => {
  const policy = { initialMs: 1_000, capMs: 10_000 };

  it("doubles from the initial wait and stops at the cap", () => {
    expect([1, 2, 3, 4, 5, 50].map((n) => backoffDelayMs(policy, n, () => 1))).toEqual([
      1_000, 2_000, 4_000, 8_000, 10_000, 10_000,
    ]);
  });

  it("jitters each wait down to no less than three quarters of it", () => {
    expect(backoffDelayMs(policy, 3, () => 0)).toBe(3_000);
  });

  it("derives a job's back-off from its interval: a tenth first (1 s to 5 min), never more than the interval or an hour", () => {
    expect(backoffFor(5 * 60_000)).toEqual({ initialMs: 30_000, capMs: 300_000 });
    expect(backoffFor(24 * 3_600_000)).toEqual({ initialMs: 300_000, capMs: 3_600_000 });
    expect(backoffFor(10_000)).toEqual({ initialMs: 1_000, capMs: 10_000 });
    expect(backoffFor(500)).toEqual({ initialMs: 1_000, capMs: 1_000 });
  });
});
