import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeCrateRecord, encodeCrateRecord } from "../../src/core/publish-times.ts";
import { type PublishTimeRow, TimestampDatabase } from "../../src/store/timestamp-database.ts";

/** A temporary folder for one test's files; `cleanUpTestFolders` removes them all. */
const folders: string[] = [];
export function testFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), "cc-kv-"));
  folders.push(dir);
  return dir;
}
export function cleanUpTestFolders(): void {
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Crate names `crate-000`, `crate-001`, … */
export const crateName = (i: number) => `crate-${String(i).padStart(3, "0")}`;

/** `count` crates; crate i has (i % 5) + 1 versions published at distinct times. */
export function crateRows(count: number, from = 0): PublishTimeRow[] {
  const rows: PublishTimeRow[] = [];
  for (let i = from; i < from + count; i++) {
    for (let v = 0; v <= i % 5; v++)
      rows.push({ crate: crateName(i), version: `1.${v}.0`, publishedAt: 1_600_000_000 + i * 1000 + v });
  }
  return rows;
}

/** A timestamp database file in a fresh folder, filled with `crateRows(count)`. */
export function databaseWithCrates(count: number): { path: string; database: TimestampDatabase } {
  const path = join(testFolder(), "timestamps.sqlite");
  const database = new TimestampDatabase(path);
  database.record(crateRows(count));
  return { path, database };
}

/** Every crate record the database holds, encoded by the core codec: what the KV store must hold. */
export function expectedKvValues(database: TimestampDatabase): Map<string, string> {
  const crates = database.db.prepare("SELECT crate FROM crate_revisions ORDER BY crate").pluck().all() as string[];
  return new Map(
    crates.map((crate) => [crate, encodeCrateRecord(database.recordFor(crate) ?? { crate, versions: new Map() })]),
  );
}

/** The store's crate entries (the freshness key left out), each decoded to check it is a readable record. */
export function crateEntries(store: ReadonlyMap<string, string>): Map<string, string> {
  const crates = new Map<string, string>();
  for (const [key, value] of store) {
    if (key.startsWith("_")) continue;
    decodeCrateRecord(value);
    crates.set(key, value);
  }
  return crates;
}
