import type Database from "better-sqlite3";
import type { SecurityAdvisory } from "../core/security-fixes.ts";

/** One advisory as the database keeps it (see src/advisories/advisory-db.ts for where they come from). */
export interface StoredAdvisory {
  readonly id: string;
  readonly crate: string;
  readonly patched: readonly string[];
  readonly withdrawn: boolean;
}

/** The advisories table; created by the schema migration in timestamp-database.ts. */
export const ADVISORIES_DDL = `
  CREATE TABLE IF NOT EXISTS advisories (
    id TEXT PRIMARY KEY,            -- RUSTSEC-YYYY-NNNN
    crate TEXT NOT NULL,            -- lowercased package name
    patched TEXT NOT NULL,          -- JSON array of Cargo version requirements
    withdrawn INTEGER NOT NULL      -- 1: kept to show, never admits anything
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS advisories_by_crate ON advisories (crate);
`;

export interface AdvisorySync {
  readonly total: number;
  readonly added: number;
  readonly changed: number;
  readonly removed: number;
  /** Crates whose admissions may differ now (their records are sent again by `kv push`). */
  readonly changedCrates: readonly string[];
}

/**
 * Makes the table hold exactly `advisories` (the advisory database is the truth: edits and withdrawals replace what
 * was there, advisories gone from it go). Returns which crates changed, for the caller to mark.
 */
export function replaceAdvisories(db: Database.Database, advisories: readonly StoredAdvisory[]): AdvisorySync {
  return db.transaction(() => {
    const before = new Map(
      (
        db.prepare("SELECT id, crate, patched, withdrawn FROM advisories").all() as {
          id: string;
          crate: string;
          patched: string;
          withdrawn: number;
        }[]
      ).map((row) => [row.id, row]),
    );
    const upsert = db.prepare(
      "INSERT INTO advisories (id, crate, patched, withdrawn) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET crate = excluded.crate, patched = excluded.patched, withdrawn = excluded.withdrawn",
    );
    const remove = db.prepare("DELETE FROM advisories WHERE id = ?");
    const changedCrates = new Set<string>();
    let added = 0;
    let changed = 0;
    for (const advisory of advisories) {
      const patched = JSON.stringify(advisory.patched);
      const withdrawn = advisory.withdrawn ? 1 : 0;
      const old = before.get(advisory.id);
      before.delete(advisory.id);
      if (old !== undefined && old.crate === advisory.crate && old.patched === patched && old.withdrawn === withdrawn)
        continue;
      upsert.run(advisory.id, advisory.crate, patched, withdrawn);
      if (old === undefined) added++;
      else {
        changed++;
        changedCrates.add(old.crate);
      }
      changedCrates.add(advisory.crate);
    }
    for (const [id, old] of before) {
      remove.run(id);
      changedCrates.add(old.crate);
    }
    return { total: advisories.length, added, changed, removed: before.size, changedCrates: [...changedCrates] };
  })();
}

/** The advisories for one crate that may admit a fix (not withdrawn), in id order. */
export function advisoriesFor(db: Database.Database, crate: string): SecurityAdvisory[] {
  const rows = db
    .prepare("SELECT id, patched FROM advisories WHERE crate = ? AND withdrawn = 0 ORDER BY id")
    .all(crate) as { id: string; patched: string }[];
  return rows.map((row) => ({ id: row.id, patched: JSON.parse(row.patched) as string[] }));
}
