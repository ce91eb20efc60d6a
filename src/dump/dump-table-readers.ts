import { CsvColumnScanner } from "./csv-column-scanner.ts";
import type { DumpSnapshot } from "./dump-snapshot.ts";
import { POSTGRES_TIMESTAMP_FORMAT, parsePostgresTimestamp } from "./postgres-timestamp.ts";

/** A dump that cannot be applied: a file or column missing, a value unreadable. The message names what and where. */
export class DumpFormatError extends Error {
  override readonly name = "DumpFormatError";
}

/** The CSVs the ingest reads, by their path below the dump's top folder. */
export const DUMP_TABLES = {
  crates: { path: "data/crates.csv", columns: ["id", "name"] },
  versions: { path: "data/versions.csv", columns: ["crate_id", "num", "created_at", "yanked", "published_by"] },
  deletedCrates: { path: "data/deleted_crates.csv", columns: ["name", "deleted_at"] },
  users: { path: "data/users.csv", columns: ["id", "gh_login"] },
  teams: { path: "data/teams.csv", columns: ["id", "login"] },
  crateOwners: { path: "data/crate_owners.csv", columns: ["crate_id", "owner_id", "owner_kind", "created_at"] },
} as const;

export type DumpTableName = keyof typeof DUMP_TABLES;

/** A scanner for one of the dump's CSVs that feeds the snapshot; columns are found by header name. */
export function dumpTableReader(table: DumpTableName, snapshot: DumpSnapshot): CsvColumnScanner {
  const { path, columns } = DUMP_TABLES[table];
  const pickColumns = (header: readonly string[]) =>
    columns.map((name) => {
      const index = header.indexOf(name);
      if (index === -1)
        throw new DumpFormatError(`${path} has no "${name}" column (its columns: ${header.join(", ")})`);
      return index;
    });
  switch (table) {
    case "crates":
      // Slots: 0 id, 1 name.
      return new CsvColumnScanner(pickColumns, (row) => {
        const id = readId(row, 0, path, "id");
        const nameStart = row.valueStartOf(1);
        const nameEnd = row.valueEndOf(1);
        if (nameEnd === nameStart || nameEnd - nameStart > 1024) {
          throw new DumpFormatError(`${path} record ${row.records}: name "${clip(row.text(1))}" is not a crate name`);
        }
        snapshot.addCrate(id, row.valueBytes(1), nameStart, nameEnd);
      });
    case "versions":
      // Slots: 0 crate_id, 1 num, 2 created_at, 3 yanked, 4 published_by (empty: no account).
      return new CsvColumnScanner(pickColumns, (row) => {
        const crateId = readId(row, 0, path, "crate_id");
        const numStart = row.valueStartOf(1);
        const numEnd = row.valueEndOf(1);
        if (numEnd === numStart || numEnd - numStart > 1024) {
          throw new DumpFormatError(`${path} record ${row.records}: num "${clip(row.text(1))}" is not a version`);
        }
        const at = readTime(row, 2, path, "created_at");
        const yankedStart = row.valueStartOf(3);
        const yankedByte = row.valueEndOf(3) - yankedStart === 1 ? row.valueBytes(3)[yankedStart] : -1;
        if (yankedByte !== 0x74 && yankedByte !== 0x66) {
          throw new DumpFormatError(`${path} record ${row.records}: yanked "${clip(row.text(3))}" is not t or f`);
        }
        const publishedBy = row.valueEndOf(4) === row.valueStartOf(4) ? -1 : readId(row, 4, path, "published_by");
        snapshot.addVersion(crateId, row.valueBytes(1), numStart, numEnd, at, yankedByte === 0x74, publishedBy);
      });
    case "deletedCrates":
      // Slots: 0 name, 1 deleted_at.
      return new CsvColumnScanner(pickColumns, (row) => {
        snapshot.addDeletedCrate(row.text(0), readTime(row, 1, path, "deleted_at"));
      });
    case "users":
      // Slots: 0 id, 1 gh_login.
      return new CsvColumnScanner(pickColumns, (row) => {
        snapshot.addAccount("user", readId(row, 0, path, "id"), row.text(1));
      });
    case "teams":
      // Slots: 0 id, 1 login (`github:org:team`).
      return new CsvColumnScanner(pickColumns, (row) => {
        snapshot.addAccount("team", readId(row, 0, path, "id"), row.text(1));
      });
    case "crateOwners":
      // Slots: 0 crate_id, 1 owner_id, 2 owner_kind (0 user, 1 team), 3 created_at.
      return new CsvColumnScanner(pickColumns, (row) => {
        const kind = readId(row, 2, path, "owner_kind");
        if (kind !== 0 && kind !== 1)
          throw new DumpFormatError(`${path} record ${row.records}: owner_kind "${clip(row.text(2))}" is not 0 or 1`);
        snapshot.addOwner(
          readId(row, 0, path, "crate_id"),
          readId(row, 1, path, "owner_id"),
          kind === 1,
          readTime(row, 3, path, "created_at"),
        );
      });
  }
}

function readId(row: CsvColumnScanner, slot: number, path: string, column: string): number {
  const bytes = row.valueBytes(slot);
  const start = row.valueStartOf(slot);
  const end = row.valueEndOf(slot);
  let value = 0;
  if (end === start || end - start > 15) {
    throw new DumpFormatError(`${path} record ${row.records}: ${column} "${clip(row.text(slot))}" is not a number`);
  }
  for (let i = start; i < end; i++) {
    const d = (bytes[i] as number) - 0x30;
    if (d < 0 || d > 9)
      throw new DumpFormatError(`${path} record ${row.records}: ${column} "${clip(row.text(slot))}" is not a number`);
    value = value * 10 + d;
  }
  return value;
}

function readTime(row: CsvColumnScanner, slot: number, path: string, column: string): number {
  const at = parsePostgresTimestamp(row.valueBytes(slot), row.valueStartOf(slot), row.valueEndOf(slot));
  // Before 1970 or after 2106 is no crates.io time (and would not fit the snapshot's 32-bit column).
  if (!(at >= 0 && at < 4_294_967_296)) {
    throw new DumpFormatError(
      `${path} record ${row.records}: ${column} "${clip(row.text(slot))}" is not a time (expected ${POSTGRES_TIMESTAMP_FORMAT})`,
    );
  }
  return at;
}

/** Keeps quoted values in one-line messages short and printable. */
function clip(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, "?");
  return clean.length > 60 ? `${clean.slice(0, 60)}…` : clean;
}
