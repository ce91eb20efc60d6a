import Database from "better-sqlite3";
import { type DumpContent, type DumpCrate, type DumpVersion, postgresTime } from "./dump-generator.ts";

/** Shared fixtures of the ingest tests: scratch folders, a small realistic dump, a whole-database snapshot. */

export { scratch } from "./scratch.ts";

export const SNAPSHOT_AT = new Date("2026-11-21T02:00:17Z");
export const T = Math.floor(SNAPSHOT_AT.getTime() / 1000);
export const DAY = 86_400;

/** A README as crates.io stores them: many lines, quotes, commas, a CRLF, code, non-ASCII. */
export const TRICKY_README =
  '# serde\r\n\nA "framework", for serializing, and deserializing.\n\n```rust\nlet s = "a,b";\n```\n\u00e9\u4e2d \u{1f980}\n';

export const BASE_CRATES: DumpCrate[] = [
  { id: 1, name: "serde", readme: TRICKY_README },
  { id: 2, name: "Tokio", readme: null, description: null },
  { id: 7, name: "rand", readme: "" },
];

export const BASE_VERSIONS: DumpVersion[] = [
  { id: 10, crateId: 1, num: "1.0.0", createdAt: postgresTime(T - 30 * DAY, 5, 0.07702) },
  { id: 11, crateId: 1, num: "1.0.1+build.5", createdAt: postgresTime(T - 10 * DAY, 0) },
  { id: 12, crateId: 2, num: "0.1.0", createdAt: postgresTime(T - 20 * DAY, 6, 0.999999) },
  { id: 13, crateId: 2, num: "0.2.0", createdAt: postgresTime(T - 2 * DAY, 1, 0.5), yanked: true },
  {
    id: 14,
    crateId: 7,
    num: "0.8.5",
    createdAt: postgresTime(T - 400 * DAY, 3, 0.123),
    features: '{"std":["alloc"],"alloc":[]}',
  },
];

/** The publish times BASE_VERSIONS should produce (created_at truncated to whole seconds). */
export const BASE_TIMES = {
  serde: { "1.0.0": T - 30 * DAY, "1.0.1+build.5": T - 10 * DAY },
  tokio: { "0.1.0": T - 20 * DAY, "0.2.0": T - 2 * DAY },
  rand: { "0.8.5": T - 400 * DAY },
};

export function baseDump(overrides: Partial<DumpContent> = {}): DumpContent {
  return { timestamp: SNAPSHOT_AT, crates: BASE_CRATES, versions: BASE_VERSIONS, ...overrides };
}

/** Every row of every table, so "the database is exactly as before" is one equality. */
export function databaseContents(path: string): Record<string, unknown[]> {
  const db = new Database(path, { readonly: true });
  try {
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .pluck()
      .all() as string[];
    return Object.fromEntries(
      tables.map((table) => [table, db.prepare(`SELECT * FROM "${table}" ORDER BY 1, 2`).all()]),
    );
  } finally {
    db.close();
  }
}

/** crate → version → time, from the database file. */
export function recordedTimes(path: string): Record<string, Record<string, number>> {
  const db = new Database(path, { readonly: true });
  try {
    const out: Record<string, Record<string, number>> = {};
    for (const row of db.prepare("SELECT crate, version, published_at FROM versions ORDER BY crate, version").all() as {
      crate: string;
      version: string;
      published_at: number;
    }[]) {
      (out[row.crate] ??= {})[row.version] = row.published_at;
    }
    return out;
  } finally {
    db.close();
  }
}

export function revisions(path: string): Record<string, number> {
  const db = new Database(path, { readonly: true });
  try {
    return Object.fromEntries(
      db.prepare("SELECT crate, revision FROM crate_revisions").raw().all() as [string, number][],
    );
  } finally {
    db.close();
  }
}
