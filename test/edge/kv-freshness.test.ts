import { beforeEach, describe, expect, it } from "vitest";
import { encodeFreshness, NO_FRESHNESS } from "../../src/core/freshness.ts";
import { kvFreshness } from "../../src/edge/kv-freshness.ts";
import { kvLog, resetKvStores, seedKvStore } from "./fastly-doubles/kv-store.ts";

const pushed = { dumpWatermark: 1_790_000_000, lastFeedPoll: 1_790_003_000, lastKvPush: 1_790_003_100, feedGap: null };

describe("data freshness from the cooldown_times KV store", () => {
  beforeEach(() => resetKvStores());

  it("reads the _freshness key that kv push writes next to the crates", async () => {
    seedKvStore("cooldown_times", { _freshness: encodeFreshness(pushed) });
    expect(await kvFreshness().freshness()).toEqual(pushed);
    expect(kvLog.gets).toEqual([{ store: "cooldown_times", key: "_freshness" }]);
  });

  it("reports that nothing is known when no push has written it yet", async () => {
    seedKvStore("cooldown_times", {});
    expect(await kvFreshness().freshness()).toEqual(NO_FRESHNESS);
  });
});
