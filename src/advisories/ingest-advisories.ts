import type { AdvisorySync } from "../store/advisories.ts";
import { META_KEYS } from "../store/meta-keys.ts";
import type { TimestampDatabase } from "../store/timestamp-database.ts";
import { readAdvisoryDb } from "./advisory-db.ts";

/** The advisory database rustsec publishes; GitHub serves its main branch as a .tar.gz. */
export const DEFAULT_ADVISORY_SOURCE = "https://github.com/rustsec/advisory-db/archive/refs/heads/main.tar.gz";

export interface AdvisoryIngestSummary extends Omit<AdvisorySync, "changedCrates"> {
  readonly changedCrates: number;
  readonly unreadable: readonly { readonly path: string; readonly reason: string }[];
}

/**
 * Syncs the advisories table with rustsec/advisory-db (a checkout or a .tar.gz), in one transaction, and marks the
 * crates whose admissions may have changed so the next `kv push` sends their records.
 */
export async function ingestAdvisories(
  database: TimestampDatabase,
  source: string,
  now: number = Math.floor(Date.now() / 1000),
): Promise<AdvisoryIngestSummary> {
  const { advisories, unreadable } = await readAdvisoryDb(source);
  const sync = database.transaction(() => {
    const result = database.replaceAdvisories(advisories);
    database.markChanged(result.changedCrates);
    database.setMeta(META_KEYS.advisoriesSynced, String(now));
    return result;
  });
  return { ...sync, changedCrates: sync.changedCrates.length, unreadable };
}
