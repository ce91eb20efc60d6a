import { formatRfc3339, type UnixSeconds } from "./time.ts";

/** How current the timestamp data is; written by the ingest job, shown by `/-/status`. */
export interface Freshness {
  /** The `timestamp` of the last crates.io DB dump applied. */
  readonly dumpWatermark: UnixSeconds | null;
  /** The last successful poll of the RSS feed. */
  readonly lastFeedPoll: UnixSeconds | null;
  /** The last successful `kv push` (meaningful at the edge). */
  readonly lastKvPush: UnixSeconds | null;
  /** The latest stretch the feed could not cover (versions published then stay unknown until the next dump). */
  readonly feedGap: { readonly from: UnixSeconds; readonly to: UnixSeconds } | null;
  /** The queue of crates.io API lookups (trust data between dumps): how many wait, and since when the oldest. */
  readonly apiLookups?: { readonly backlog: number; readonly oldest: UnixSeconds | null };
}

/** Where a home reads freshness from (the SQLite meta table, or the KV metadata key at the edge). */
export interface FreshnessSource {
  freshness(): Promise<Freshness>;
}

export const NO_FRESHNESS: Freshness = { dumpWatermark: null, lastFeedPoll: null, lastKvPush: null, feedGap: null };

/**
 * The KV key holding freshness at the edge. It starts with `_`, so it can never be a crate's key (crate keys are
 * lowercased names that start with a letter).
 */
export const FRESHNESS_KV_KEY = "_freshness";

/**
 * Freshness record, version 1: `{"v":1,"dump_watermark":…,"last_feed_poll":…,"last_kv_push":…,"feed_gap":{from,to}|null}`
 * in Unix seconds, and `"api_lookups":{"backlog":…,"oldest":…}` when known (readers before it ignore it).
 */
export function encodeFreshness(freshness: Freshness): string {
  return JSON.stringify({
    v: 1,
    dump_watermark: freshness.dumpWatermark,
    last_feed_poll: freshness.lastFeedPoll,
    last_kv_push: freshness.lastKvPush,
    feed_gap: freshness.feedGap,
    ...(freshness.apiLookups === undefined ? {} : { api_lookups: freshness.apiLookups }),
  });
}

export function decodeFreshness(text: string): Freshness {
  const parsed = JSON.parse(text) as Record<string, unknown>;
  if (parsed.v !== 1) throw new Error(`freshness record format ${JSON.stringify(parsed.v)} is not understood`);
  const time = (value: unknown) => (typeof value === "number" && Number.isFinite(value) ? value : null);
  const gap = parsed.feed_gap as { from?: unknown; to?: unknown } | null | undefined;
  const from = time(gap?.from);
  const to = time(gap?.to);
  const lookups = parsed.api_lookups as { backlog?: unknown; oldest?: unknown } | undefined;
  const backlog = time(lookups?.backlog);
  return {
    dumpWatermark: time(parsed.dump_watermark),
    lastFeedPoll: time(parsed.last_feed_poll),
    lastKvPush: time(parsed.last_kv_push),
    feedGap: from !== null && to !== null ? { from, to } : null,
    ...(backlog === null ? {} : { apiLookups: { backlog, oldest: time(lookups?.oldest) } }),
  };
}

export const FEED_STALE_AFTER: UnixSeconds = 3_600;
export const DUMP_STALE_AFTER: UnixSeconds = 48 * 3_600;

/** What is stale, in words; empty when all is well. */
export function staleness(freshness: Freshness, now: UnixSeconds): string[] {
  const stale: string[] = [];
  if (freshness.lastFeedPoll === null) stale.push("the RSS feed has never been polled");
  else if (now - freshness.lastFeedPoll > FEED_STALE_AFTER) {
    stale.push(`the RSS feed was last polled at ${formatRfc3339(freshness.lastFeedPoll)}, over an hour ago`);
  }
  if (freshness.dumpWatermark === null) stale.push("no crates.io DB dump has been applied");
  else if (now - freshness.dumpWatermark > DUMP_STALE_AFTER) {
    stale.push(`the last DB dump applied is from ${formatRfc3339(freshness.dumpWatermark)}, over 48 hours ago`);
  }
  if (freshness.feedGap !== null) {
    stale.push(
      `versions published between ${formatRfc3339(freshness.feedGap.from)} and ${formatRfc3339(freshness.feedGap.to)} may be missing until the next dump (feed gap)`,
    );
  }
  return stale;
}
