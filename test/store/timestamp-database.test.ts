import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { SCHEMA_VERSION, TimestampDatabase } from "../../src/store/timestamp-database.ts";

const dirs: string[] = [];
const fresh = () => {
  const dir = mkdtempSync(join(tmpdir(), "cc-db-"));
  dirs.push(dir);
  return join(dir, "nested", "timestamps.sqlite");
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("TimestampDatabase", () => {
  it("creates its file and folders, and answers null for an unknown crate", async () => {
    const db = new TimestampDatabase(fresh());
    expect(await db.lookup("serde")).toBeNull();
    db.close();
  });

  it("stores names lowercased and returns a crate's record", async () => {
    const db = new TimestampDatabase(fresh());
    db.record([
      { crate: "Serde", version: "1.0.0", publishedAt: 100 },
      { crate: "serde", version: "1.0.1+build", publishedAt: 200.9 },
    ]);
    expect(await db.lookup("serde")).toEqual({
      crate: "serde",
      versions: new Map([
        ["1.0.0", 100],
        ["1.0.1+build", 200],
      ]),
    });
    db.close();
  });

  it("never moves a recorded time earlier, keeps the later one and counts the disagreement", () => {
    const db = new TimestampDatabase(fresh());
    expect(db.record([{ crate: "a", version: "1.0.0", publishedAt: 500 }])).toEqual({
      added: 1,
      movedLater: 0,
      earlierIgnored: 0,
      changedCrates: 1,
    });
    expect(db.record([{ crate: "a", version: "1.0.0", publishedAt: 400 }])).toEqual({
      added: 0,
      movedLater: 0,
      earlierIgnored: 1,
      changedCrates: 0,
    });
    expect(db.recordFor("a")?.versions.get("1.0.0")).toBe(500);
    expect(db.record([{ crate: "a", version: "1.0.0", publishedAt: 600 }])).toEqual({
      added: 0,
      movedLater: 1,
      earlierIgnored: 0,
      changedCrates: 1,
    });
    expect(db.recordFor("a")?.versions.get("1.0.0")).toBe(600);
    db.close();
  });

  it("bumps a crate's revision only when its record changes", () => {
    const db = new TimestampDatabase(fresh());
    const revision = (crate: string) =>
      (
        db.db.prepare("SELECT revision FROM crate_revisions WHERE crate = ?").get(crate) as
          | { revision: number }
          | undefined
      )?.revision;
    db.record([
      { crate: "a", version: "1.0.0", publishedAt: 1 },
      { crate: "b", version: "1.0.0", publishedAt: 1 },
    ]);
    const a = revision("a");
    const b = revision("b") as number;
    db.record([
      { crate: "a", version: "1.0.0", publishedAt: 1 },
      { crate: "b", version: "1.0.1", publishedAt: 2 },
    ]);
    expect(revision("a")).toBe(a);
    expect(revision("b")).toBeGreaterThan(b);
    db.close();
  });

  it("lets another connection see committed writes on its next query (the server needs no restart)", async () => {
    const path = fresh();
    const reader = new TimestampDatabase(path);
    expect(await reader.lookup("late")).toBeNull();
    const writer = new TimestampDatabase(path);
    writer.record([{ crate: "late", version: "0.1.0", publishedAt: 42 }]);
    expect((await reader.lookup("late"))?.versions.get("0.1.0")).toBe(42);
    writer.close();
    reader.close();
  });

  it("refuses a database written by a newer schema", () => {
    const path = fresh();
    const db = new TimestampDatabase(path);
    db.db.pragma("user_version = 99");
    db.close();
    expect(() => new TimestampDatabase(path)).toThrow(/schema 99 is newer/);
  });
});

describe("TimestampDatabase schema", () => {
  it("migrates a version-1 file to the current schema, keeping its rows", async () => {
    const path = fresh();
    mkdirSync(dirname(path), { recursive: true });
    const v1 = new Database(path);
    v1.exec(`
      CREATE TABLE versions (crate TEXT NOT NULL, version TEXT NOT NULL, published_at INTEGER NOT NULL, PRIMARY KEY (crate, version)) WITHOUT ROWID;
      CREATE TABLE crate_revisions (crate TEXT PRIMARY KEY, revision INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE kv_pushed (store_id TEXT NOT NULL, crate TEXT NOT NULL, revision INTEGER NOT NULL, PRIMARY KEY (store_id, crate)) WITHOUT ROWID;
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO versions VALUES ('serde', '1.0.0', 100);
    `);
    v1.pragma("user_version = 1");
    v1.close();
    const db = new TimestampDatabase(path);
    expect(db.db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.db.prepare("SELECT count(*) AS n FROM dump_digests").get()).toEqual({ n: 0 });
    expect((await db.lookup("serde"))?.versions.get("1.0.0")).toBe(100);
    db.close();
  });

  it("opens a current file again without touching it", () => {
    const path = fresh();
    new TimestampDatabase(path).close();
    const again = new TimestampDatabase(path);
    expect(again.db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    again.close();
  });
});
