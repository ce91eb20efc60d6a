import { PACKED_VERSIONS, type RevisedCrateRecord, readCrateRecords } from "./crate-records.ts";
import type { TimestampDatabase } from "./timestamp-database.ts";

/** Crates whose `crate_revisions.revision` is above what `kv_pushed` holds for the store (or never pushed there). */
const PENDING_FROM = `
  FROM crate_revisions r
  LEFT JOIN kv_pushed p ON p.store_id = @store AND p.crate = r.crate
  WHERE (p.revision IS NULL OR r.revision > p.revision)`;

/** How many crates a push to `storeId` would send now. */
export function countPendingCrates(database: TimestampDatabase, storeId: string): number {
  return (database.db.prepare(`SELECT count(*) AS n ${PENDING_FROM}`).get({ store: storeId }) as { n: number }).n;
}

/** The records to push to `storeId`, in crate order, a page at a time (keyset on the crate name). */
export function pendingCrateRecords(database: TimestampDatabase, storeId: string): Generator<RevisedCrateRecord> {
  const page = `SELECT r.crate, r.revision, ${PACKED_VERSIONS} ${PENDING_FROM} AND r.crate > @after ORDER BY r.crate LIMIT @limit`;
  return readCrateRecords(database.db, page, { store: storeId });
}

/** Records that the store now holds these revisions; called only once the API accepted them. */
export function markPushedCrates(
  database: TimestampDatabase,
  storeId: string,
  pushed: Iterable<{ crate: string; revision: number }>,
): void {
  const db = database.db;
  const upsert = db.prepare(
    "INSERT INTO kv_pushed (store_id, crate, revision) VALUES (?, ?, ?) ON CONFLICT (store_id, crate) DO UPDATE SET revision = excluded.revision",
  );
  db.transaction(() => {
    for (const { crate, revision } of pushed) upsert.run(storeId, crate, revision);
  })();
}
