import { describe, expect, it } from "vitest";
import { decodeFreshness, encodeFreshness, NO_FRESHNESS, staleness } from "../../src/core/freshness.ts";
import { HOUR } from "../support/in-memory-ports.ts";

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0) / 1000;

describe("freshness", () => {
  it("round-trips through its KV record", () => {
    const freshness = {
      dumpWatermark: NOW - 20 * HOUR,
      lastFeedPoll: NOW - 60,
      lastKvPush: NOW - 30,
      feedGap: { from: NOW - 5 * HOUR, to: NOW - 3 * HOUR },
    };
    expect(decodeFreshness(encodeFreshness(freshness))).toEqual(freshness);
    expect(decodeFreshness(encodeFreshness(NO_FRESHNESS))).toEqual(NO_FRESHNESS);
  });

  it("refuses an unknown record format", () => {
    expect(() => decodeFreshness('{"v":2}')).toThrow(/not understood/);
  });

  it("flags a feed not polled for over an hour and a dump older than 48 hours", () => {
    const fresh = { dumpWatermark: NOW - 47 * HOUR, lastFeedPoll: NOW - HOUR, lastKvPush: null, feedGap: null };
    expect(staleness(fresh, NOW)).toEqual([]);
    const stale = { ...fresh, dumpWatermark: NOW - 49 * HOUR, lastFeedPoll: NOW - HOUR - 1 };
    const problems = staleness(stale, NOW);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain("over an hour ago");
    expect(problems[1]).toContain("over 48 hours ago");
  });

  it("flags missing data and feed gaps", () => {
    expect(staleness(NO_FRESHNESS, NOW)).toEqual([
      "the RSS feed has never been polled",
      "no crates.io DB dump has been applied",
    ]);
    const gap = staleness(
      { dumpWatermark: NOW, lastFeedPoll: NOW, lastKvPush: null, feedGap: { from: NOW - 3 * HOUR, to: NOW - HOUR } },
      NOW,
    );
    expect(gap).toEqual([
      "versions published between 2026-11-22T09:00:00Z and 2026-11-22T11:00:00Z may be missing until the next dump (feed gap)",
    ]);
  });
});
