/**
 * Keys of the timestamp database's `meta` table, in one place so the ingest job, `kv push` and `/-/status` agree.
 * Values are text; times are Unix seconds written in decimal.
 */
export const META_KEYS = {
  /** Global counter behind `crate_revisions` (TimestampDatabase.markChanged). */
  revision: "revision",
  /** Snapshot time (metadata.json `timestamp`) of the newest dump applied, Unix seconds. */
  dumpWatermark: "dump.watermark",
  /** JSON `DumpIngestSummary` of the last successful `ingest dump`. */
  dumpLastRun: "dump.last_run",
  /** Random key of the per-crate dump digests (so nobody can craft versions that collide with another's digest). */
  dumpDigestSeed: "dump.digest_seed",
  /** When the last successful feed poll happened (the feed server's clock when it sent a Date header), Unix seconds. */
  feedLastPoll: "feed.last_poll",
  /** JSON `{ source, etag, lastModified }`: the validators for the next conditional GET of that source. */
  feedValidator: "feed.validator",
  /** JSON array of `FeedGap` (from, to, detectedAt): stretches the feed may have missed, until a dump covers them. */
  feedGaps: "feed.gaps",
  /** JSON `FeedIngestSummary` of the last successful `ingest feed`. */
  feedLastRun: "feed.last_run",
  /** When the last complete `kv push` finished, Unix seconds (written by kv push through src/store/database-freshness.ts). */
  kvLastPush: "kv.last_push",
  /** Watermark of the first dump applied with publishers and owners: from then on records carry trust signals. */
  trustDataSince: "trust.data_since",
  /** When `ingest advisories` last synced the RustSec advisory database, Unix seconds. */
  advisoriesSynced: "advisories.synced",
} as const;
