import type Database from "better-sqlite3";
import type { CrateRecord } from "../core/publish-times.ts";
import type { SecurityAdvisory } from "../core/security-fixes.ts";
import type { TimestampDatabase } from "./timestamp-database.ts";
import { crateTrustOf, hasTrustData, ownersReader, type ProvenanceRow, SELECT_PROVENANCE } from "./trust-data.ts";

/** One crate's record with the revision it was read at (what `kv_pushed` stores once the API accepted it). */
export interface RevisedCrateRecord {
  readonly revision: number;
  readonly record: CrateRecord;
}

/** `[crate, revision, packed versions]` as `PACKED_VERSIONS` yields them. */
type PackedCrateRow = [crate: string, revision: number, packed: string | null];

/**
 * A crate's versions, packed by SQLite into one text `count RS version US time US via US publisher id US publisher US
 * trusted source RS …` (RS = \x1e, US = \x1f; the last four empty when NULL), in publish order. One row per crate
 * instead of one per version: materialising ~3 M rows in JS cost more than everything else a full push does. NULL
 * when the crate has no versions. Needs the crate as `r.crate`. Publish order is the order of a crates.io file's
 * lines, which the edge follows to read a version from the record's own keys (plain-line-filter.ts).
 */
export const PACKED_VERSIONS = `(
  SELECT count(*) || char(30) || group_concat(version || char(31) || published_at || char(31) || ifnull(publish_via, '')
    || char(31) || ifnull(publisher_id, '') || char(31) || ifnull(publisher, '') || char(31) || ifnull(trusted_source, ''),
    char(30))
  FROM (SELECT version, published_at, publish_via, publisher_id,
          (SELECT login FROM accounts a WHERE a.id = v.publisher_id) AS publisher, trusted_source
        FROM versions v WHERE v.crate = r.crate ORDER BY published_at, version))`;

/** Crates per SQLite page: bounds memory (one page of records at a time) while keeping queries few. */
export const CRATES_PER_PAGE = 2_000;

/** Every crate's record, in crate order, a page at a time: what `kv export` writes. */
export function allCrateRecords(database: TimestampDatabase): Generator<RevisedCrateRecord> {
  const page = `SELECT r.crate, r.revision, ${PACKED_VERSIONS} FROM crate_revisions r WHERE r.crate > @after ORDER BY r.crate LIMIT @limit`;
  return readCrateRecords(database.db, page);
}

/**
 * Reads crate records a page at a time. `pageSql` selects `r.crate, r.revision, PACKED_VERSIONS` for crates after
 * `@after`, ordered by crate, at most `@limit`. Each page is read whole before it is yielded, so the connection is
 * free for writes between pages. Both `kv push` (kv-push-ledger.ts) and `kv export` (`allCrateRecords`) read through here, so both write the same values; a
 * crate with a revision but no versions gets an empty record (nothing known: the edge hides every version).
 */
export function* readCrateRecords(
  db: Database.Database,
  pageSql: string,
  params: Record<string, unknown> = {},
  pageCrates: number = CRATES_PER_PAGE,
): Generator<RevisedCrateRecord> {
  const page = db.prepare(pageSql).raw(true);
  const versionsOf = db.prepare(SELECT_PROVENANCE).raw(true);
  const withTrust = hasTrustData(
    (key) => (db.prepare("SELECT value FROM meta WHERE key = ?").pluck().get(key) as string | undefined) ?? null,
  );
  const ownersOf = ownersReader(db);
  // Advisories are few (thousands): read once, attached to their crates' records (record format version 2).
  const advisories = advisoriesByCrate(db);
  let after = "";
  for (;;) {
    const rows = page.all({ ...params, after, limit: pageCrates }) as PackedCrateRow[];
    if (rows.length === 0) return;
    for (const [crate, revision, packed] of rows) {
      // A version holding the separator (never a valid `vers`) makes the packing ambiguous: read that crate row by row.
      const rows = unpackVersions(packed) ?? (versionsOf.all(crate) as ProvenanceRow[]);
      const versions = new Map(rows.map((row) => [row[0], row[1]]));
      const crateAdvisories = advisories.get(crate);
      const trust = withTrust && rows.length > 0 ? crateTrustOf(rows, ownersOf(crate)) : undefined;
      yield {
        revision,
        record: {
          crate,
          versions,
          ...(crateAdvisories === undefined ? {} : { advisories: crateAdvisories }),
          ...(trust === undefined ? {} : { trust }),
        },
      };
    }
    after = (rows[rows.length - 1] as PackedCrateRow)[0];
  }
}

function advisoriesByCrate(db: Database.Database): Map<string, SecurityAdvisory[]> {
  const byCrate = new Map<string, SecurityAdvisory[]>();
  const rows = db.prepare("SELECT id, crate, patched FROM advisories WHERE withdrawn = 0 ORDER BY id").all() as {
    id: string;
    crate: string;
    patched: string;
  }[];
  for (const row of rows) {
    const list = byCrate.get(row.crate) ?? [];
    list.push({ id: row.id, patched: JSON.parse(row.patched) as string[] });
    byCrate.set(row.crate, list);
  }
  return byCrate;
}

/** The rows of a `PACKED_VERSIONS` text, or null when it does not hold exactly the count it announces. */
function unpackVersions(packed: string | null): ProvenanceRow[] | null {
  const rows: ProvenanceRow[] = [];
  if (packed === null) return rows;
  let end = packed.indexOf("\x1e");
  const count = Number(packed.slice(0, end));
  // One pass with indexOf rather than split: no intermediate array per crate, less garbage at 250,000 crates.
  while (end < packed.length) {
    const start = end + 1;
    end = packed.indexOf("\x1e", start);
    if (end < 0) end = packed.length;
    // The five fields after the version hold no separator; the version is everything before them.
    const c5 = packed.lastIndexOf("\x1f", end);
    const c4 = packed.lastIndexOf("\x1f", c5 - 1);
    const c3 = packed.lastIndexOf("\x1f", c4 - 1);
    const c2 = packed.lastIndexOf("\x1f", c3 - 1);
    const c1 = packed.lastIndexOf("\x1f", c2 - 1);
    const at = Number(packed.slice(c1 + 1, c2));
    if (c1 < start || !Number.isFinite(at)) return null;
    const via = packed.slice(c2 + 1, c3);
    const publisherId = packed.slice(c3 + 1, c4);
    const publisher = packed.slice(c4 + 1, c5);
    const source = packed.slice(c5 + 1, end);
    rows.push([
      packed.slice(start, c1),
      at,
      via === "" ? null : Number(via),
      publisherId === "" ? null : Number(publisherId),
      publisher === "" ? null : publisher,
      source === "" ? null : source,
    ]);
  }
  return rows.length === count ? rows : null;
}
