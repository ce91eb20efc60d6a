import type { CrateOwnerAddition, PublishVia } from "../core/trust-signals.ts";
import { META_KEYS } from "./meta-keys.ts";
import type { TimestampDatabase } from "./timestamp-database.ts";
import { viaCode } from "./trust-data.ts";

/** What one source (the crates.io API, a test) says about who published one version. */
export interface ProvenanceReport {
  readonly crate: string;
  readonly version: string;
  readonly via: Exclude<PublishVia, null>;
  readonly publisherId: number | null;
  readonly publisher: string | null;
  /** For trusted publishing: where from, e.g. `github: owner/repo`. */
  readonly trustedSource?: string | null;
}

/**
 * Records who published versions the database already has times for (a version it has no time for is skipped and
 * counted), and the crates' owners when given; bumps the revision of every crate whose data changed, so `kv push`
 * sends its new signals. From then on records carry trust data. One transaction.
 */
export function recordProvenance(
  database: TimestampDatabase,
  reports: readonly ProvenanceReport[],
  owners: ReadonlyMap<string, readonly CrateOwnerAddition[]> = new Map(),
): { readonly updated: number; readonly unknownVersions: number } {
  const db = database.db;
  const update = db.prepare(
    `UPDATE versions SET publish_via = ?, publisher_id = ?, trusted_source = ?
     WHERE crate = ? AND version = ?
       AND (publish_via IS NOT ? OR publisher_id IS NOT ? OR trusted_source IS NOT ?)`,
  );
  const upsertAccount = db.prepare(
    "INSERT INTO accounts (id, login) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET login = excluded.login",
  );
  const exists = db.prepare("SELECT 1 FROM versions WHERE crate = ? AND version = ?").pluck();
  const deleteOwners = db.prepare("DELETE FROM crate_owners WHERE crate = ?");
  const insertOwner = db.prepare("INSERT OR REPLACE INTO crate_owners (crate, owner, added_at) VALUES (?, ?, ?)");
  return database.transaction(() => {
    const changed = new Set<string>();
    let updated = 0;
    let unknownVersions = 0;
    for (const r of reports) {
      const crate = r.crate.toLowerCase();
      if (r.publisherId !== null && r.publisher !== null) upsertAccount.run(r.publisherId, r.publisher);
      const values = [viaCode(r.via), r.publisherId, r.trustedSource ?? null];
      if (update.run(...values, crate, r.version, ...values).changes > 0) {
        updated++;
        changed.add(crate);
      } else if (exists.get(crate, r.version) === undefined) unknownVersions++;
    }
    for (const [name, list] of owners) {
      const crate = name.toLowerCase();
      deleteOwners.run(crate);
      for (const owner of list) insertOwner.run(crate, owner.owner, Math.floor(owner.addedAt));
      changed.add(crate);
    }
    database.markChanged(changed);
    if (database.getMeta(META_KEYS.trustDataSince) === null)
      database.setMeta(META_KEYS.trustDataSince, String(Math.floor(Date.now() / 1000)));
    return { updated, unknownVersions };
  });
}
