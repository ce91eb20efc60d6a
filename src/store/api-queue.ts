import type { UnixSeconds } from "../core/time.ts";
import type { TimestampDatabase } from "./timestamp-database.ts";
import { hasTrustData } from "./trust-data.ts";

// The table is created by the schema migration (API_QUEUE_DDL in trust-data.ts).

/**
 * The persistent queue of crates.io API lookups (`api_lookups`): crates whose history the job should look up between
 * dumps, filled by `ingest feed` for every crate with a new version, drained by `ingest api`. In the database, so
 * nothing is lost across restarts; a failed lookup waits (`not_before`) and is tried again.
 */

/** Queues crates (a crate already queued keeps its place); returns how many were new. */
export function queueApiLookups(database: TimestampDatabase, crates: Iterable<string>, now: UnixSeconds): number {
  const insert = database.db.prepare(
    "INSERT INTO api_lookups (crate, queued_at, not_before) VALUES (?, ?, ?) ON CONFLICT (crate) DO NOTHING",
  );
  return database.transaction(() => {
    let added = 0;
    for (const crate of new Set([...crates].map((c) => c.toLowerCase()))) added += insert.run(crate, now, now).changes;
    return added;
  });
}

/** Crates due at `now`, oldest first. */
export function dueApiLookups(database: TimestampDatabase, now: UnixSeconds, limit: number): string[] {
  return database.db
    .prepare("SELECT crate FROM api_lookups WHERE not_before <= ? ORDER BY queued_at, crate LIMIT ?")
    .pluck()
    .all(now, limit) as string[];
}

export function finishApiLookup(database: TimestampDatabase, crate: string): void {
  database.db.prepare("DELETE FROM api_lookups WHERE crate = ?").run(crate);
}

/** A failed lookup waits 5 minutes, doubling with each failure, at most 6 hours. */
export function deferApiLookup(database: TimestampDatabase, crate: string, now: UnixSeconds, error: string): void {
  const row = database.db.prepare("SELECT attempts FROM api_lookups WHERE crate = ?").get(crate) as
    | { attempts: number }
    | undefined;
  const attempts = (row?.attempts ?? 0) + 1;
  const wait = Math.min(300 * 2 ** (attempts - 1), 6 * 3_600);
  database.db
    .prepare("UPDATE api_lookups SET attempts = ?, not_before = ?, last_error = ? WHERE crate = ?")
    .run(attempts, now + wait, error, crate);
}

/** What `/-/status` shows: how many lookups wait, and since when the oldest. */
export function apiLookupBacklog(database: TimestampDatabase): { backlog: number; oldest: UnixSeconds | null } {
  const exists = database.db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'api_lookups'")
    .pluck()
    .get();
  if (exists === undefined) return { backlog: 0, oldest: null };
  const row = database.db.prepare("SELECT count(*) AS backlog, min(queued_at) AS oldest FROM api_lookups").get() as {
    backlog: number;
    oldest: number | null;
  };
  return { backlog: row.backlog, oldest: row.oldest };
}

/**
 * Queues the crates of these versions whose publisher the database does not know (a version the feed just brought),
 * once the database holds trust data at all; returns how many crates were newly queued.
 */
export function queueLookupsForUnknownPublishers(
  database: TimestampDatabase,
  versions: Iterable<{ readonly crate: string; readonly version: string }>,
  now: UnixSeconds,
): number {
  if (!hasTrustData((key) => database.getMeta(key))) return 0;
  const unknown = database.db.prepare("SELECT 1 FROM versions WHERE crate = ? AND version = ? AND publish_via IS NULL");
  const crates: string[] = [];
  for (const { crate, version } of versions) {
    const name = crate.toLowerCase();
    if (unknown.get(name, version) !== undefined) crates.push(name);
  }
  return crates.length === 0 ? 0 : queueApiLookups(database, crates, now);
}
