import { formatRfc3339, type UnixSeconds } from "../core/time.ts";
import { openTimestampDatabaseForWriting } from "../node/open-database.ts";
import { UserError } from "../node/user-error.ts";
import { queueLookupsForUnknownPublishers } from "../store/api-queue.ts";
import { type FeedGap, recordFeedGap } from "../store/feed-gaps.ts";
import { META_KEYS } from "../store/meta-keys.ts";
import type { RecordOutcome, TimestampDatabase } from "../store/timestamp-database.ts";
import { type FeedValidator, fetchFeed } from "./feed-source.ts";
import { FeedFormatError, parseUpdatesFeed } from "./updates-feed.ts";

export interface FeedIngestOptions {
  /** URL or path of crates.io's `rss/updates.xml`. */
  readonly source: string;
  readonly dbPath: string;
  /** Where warnings and the gap alarm go, one line each (the CLI: stderr). */
  readonly warn?: (line: string) => void;
  readonly signal?: AbortSignal;
  /** For tests: Unix seconds now, used when the feed server sends no Date header. */
  readonly now?: () => UnixSeconds;
}

/** What one `ingest feed` did: the one-line summary, and `meta` `feed.last_run` as JSON. */
export interface FeedIngestSummary extends RecordOutcome {
  readonly source: string;
  /** `not-modified`: the conditional GET answered 304 (nothing published since the previous poll). */
  readonly status: "updated" | "not-modified";
  /** When this poll happened, on the feed server's clock when it said. */
  readonly polledAt: UnixSeconds;
  readonly items: number;
  readonly unreadableItems: number;
  readonly oldestItem: UnixSeconds | null;
  readonly newestItem: UnixSeconds | null;
  /** Set when the previous coverage ended before the feed's oldest item: versions in between may be missing. */
  readonly gap: FeedGap | null;
  readonly durationSeconds: number;
}

/**
 * `ingest feed`: one poll of crates.io's updates feed. Records every (crate, version, pubDate) with the never-earlier
 * rule, keeps the validators for the next conditional GET, and raises a gap when the previous coverage (the last
 * successful poll, or the dump's watermark if later) ends before the feed's oldest item — the feed only reaches ~60
 * minutes back, so versions published in between are unknown until the next dump (hidden meanwhile: fail closed).
 * Fetch and parse failures throw a one-line `UserError` and change nothing.
 */
export async function ingestFeed(options: FeedIngestOptions): Promise<FeedIngestSummary> {
  const started = performance.now();
  const warn = options.warn ?? (() => {});
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const database = openTimestampDatabaseForWriting(options.dbPath);
  try {
    const previous = readValidator(database);
    const fetched = await fetchFeed(options.source, previous, options.signal);
    const polledAt = fetched.serverTime ?? now();
    const durationSeconds = () => (performance.now() - started) / 1000;
    const base = { source: options.source, polledAt, added: 0, movedLater: 0, earlierIgnored: 0, changedCrates: 0 };

    if (fetched.status === "not-modified") {
      // The feed is rewritten on every publish: unchanged since the last 200 means nothing was published since.
      const summary: FeedIngestSummary = {
        ...base,
        status: "not-modified",
        items: 0,
        unreadableItems: 0,
        oldestItem: null,
        newestItem: null,
        gap: null,
        durationSeconds: durationSeconds(),
      };
      database.transaction(() => {
        database.setMeta(META_KEYS.feedLastPoll, String(polledAt));
        database.setMeta(META_KEYS.feedLastRun, JSON.stringify(summary));
      });
      return summary;
    }

    let feed: ReturnType<typeof parseUpdatesFeed>;
    try {
      feed = parseUpdatesFeed(fetched.body);
    } catch (error) {
      if (error instanceof FeedFormatError)
        throw new UserError(`the feed ${options.source} is unusable: ${error.message}`);
      throw error;
    }
    for (const line of feed.unreadable) warn(`ingest feed: skipped ${line}`);
    const times = feed.items.map((item) => item.publishedAt);
    const oldestItem = times.length > 0 ? Math.min(...times) : null;
    const newestItem = times.length > 0 ? Math.max(...times) : null;

    const coveredUntil = maxOf(
      unixSeconds(database.getMeta(META_KEYS.feedLastPoll)),
      unixSeconds(database.getMeta(META_KEYS.dumpWatermark)),
    );
    let gap: FeedGap | null = null;
    if (oldestItem !== null && coveredUntil !== null && oldestItem > coveredUntil) {
      gap = { from: coveredUntil, to: oldestItem, detectedAt: polledAt };
      warn(
        `ingest feed: GAP: nothing covers ${formatRfc3339(coveredUntil)} to ${formatRfc3339(oldestItem)} (the last poll or dump ends before the feed's oldest item); versions published then stay hidden until the next \`ingest dump\``,
      );
    } else if (oldestItem !== null && coveredUntil === null) {
      warn(
        `ingest feed: no dump ingested and no earlier poll: versions published before ${formatRfc3339(oldestItem)} stay hidden until \`ingest dump\` runs`,
      );
    }

    const summary = database.transaction((): FeedIngestSummary => {
      const outcome = database.record(
        feed.items.map((item) => ({ crate: item.crate, version: item.version, publishedAt: item.publishedAt })),
      );
      const result: FeedIngestSummary = {
        ...base,
        ...outcome,
        status: "updated",
        items: feed.items.length,
        unreadableItems: feed.unreadable.length,
        oldestItem,
        newestItem,
        gap,
        durationSeconds: durationSeconds(),
      };
      if (gap !== null) recordFeedGap(database, gap);
      // Who published them is not in the feed: their crates wait for a crates.io API lookup (`ingest api`).
      queueLookupsForUnknownPublishers(database, feed.items, polledAt);
      database.setMeta(META_KEYS.feedLastPoll, String(polledAt));
      database.setMeta(META_KEYS.feedValidator, JSON.stringify(fetched.validator));
      database.setMeta(META_KEYS.feedLastRun, JSON.stringify(result));
      return result;
    });
    return summary;
  } finally {
    database.close();
  }
}

/** The one-line summary printed after every successful poll. */
export function formatFeedSummary(s: FeedIngestSummary): string {
  if (s.status === "not-modified")
    return `ingest feed: not modified since the last poll (304); polled at ${formatRfc3339(s.polledAt)}`;
  const n = (value: number) => value.toLocaleString("en-US");
  const span =
    s.oldestItem === null || s.newestItem === null
      ? "no items"
      : `${n(s.items)} items from ${formatRfc3339(s.oldestItem)} to ${formatRfc3339(s.newestItem)}`;
  const parts = [
    `ingest feed: ${span}`,
    `${n(s.added)} versions new, ${n(s.movedLater)} moved later, ${n(s.earlierIgnored)} earlier times ignored`,
    `${n(s.changedCrates)} crates changed`,
    `${s.durationSeconds.toFixed(1)} s`,
  ];
  if (s.unreadableItems > 0) parts.push(`${n(s.unreadableItems)} unreadable items skipped`);
  if (s.gap !== null) parts.push(`GAP ${formatRfc3339(s.gap.from)} to ${formatRfc3339(s.gap.to)}`);
  return parts.join("; ");
}

function readValidator(database: TimestampDatabase): FeedValidator | null {
  const raw = database.getMeta(META_KEYS.feedValidator);
  if (raw === null) return null;
  try {
    const parsed = JSON.parse(raw) as Partial<FeedValidator>;
    if (typeof parsed.source !== "string") return null;
    return {
      source: parsed.source,
      etag: typeof parsed.etag === "string" ? parsed.etag : null,
      lastModified: typeof parsed.lastModified === "string" ? parsed.lastModified : null,
    };
  } catch {
    return null;
  }
}

function unixSeconds(raw: string | null): UnixSeconds | null {
  if (raw === null || !/^\d+$/.test(raw)) return null;
  return Number(raw);
}

function maxOf(a: UnixSeconds | null, b: UnixSeconds | null): UnixSeconds | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}
