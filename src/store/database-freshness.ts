import type { Freshness } from "../core/freshness.ts";
import type { UnixSeconds } from "../core/time.ts";
import { apiLookupBacklog } from "./api-queue.ts";
import { META_KEYS } from "./meta-keys.ts";
import type { TimestampDatabase } from "./timestamp-database.ts";

/**
 * Freshness as the `meta` table says (what the Node server's `/-/status` shows and `kv push` copies to the edge) (any key may be missing: nothing has run yet). Of the feed gaps still open, the
 * latest is reported, as `Freshness` holds one.
 */
export function readFreshness(database: TimestampDatabase): Freshness {
  const time = (key: string) => unixSecondsOf(database.getMeta(key));
  return {
    dumpWatermark: time(META_KEYS.dumpWatermark),
    lastFeedPoll: time(META_KEYS.feedLastPoll),
    lastKvPush: time(META_KEYS.kvLastPush),
    feedGap: latestGap(database.getMeta(META_KEYS.feedGaps)),
    apiLookups: apiLookupBacklog(database),
  };
}

/** Records a complete push, so the next freshness record (and the Node server's status) shows it. */
export function recordKvPush(database: TimestampDatabase, at: UnixSeconds): void {
  database.setMeta(META_KEYS.kvLastPush, String(at));
}

function unixSecondsOf(raw: unknown): UnixSeconds | null {
  if (typeof raw === "number") return Number.isFinite(raw) ? Math.floor(raw) : null;
  if (typeof raw !== "string" || !/^\s*\d+(\.\d+)?\s*$/.test(raw)) return null;
  return Math.floor(Number(raw));
}

/** `feed.gaps` is a JSON array of `{from, to, detectedAt}`; a value that cannot be read counts as no gap known. */
function latestGap(raw: string | null): Freshness["feedGap"] {
  if (raw === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return null;
  }
  let latest: { from: UnixSeconds; to: UnixSeconds } | null = null;
  for (const gap of Array.isArray(parsed) ? parsed : [parsed]) {
    const from = unixSecondsOf((gap as { from?: unknown } | null)?.from);
    const to = unixSecondsOf((gap as { to?: unknown } | null)?.to);
    if (from !== null && to !== null && (latest === null || to > latest.to)) latest = { from, to };
  }
  return latest;
}
