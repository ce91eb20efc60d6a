import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { CrateRecord } from "../core/publish-times.ts";
import type { PublishTimes } from "../core/ports.ts";
import type { UnixSeconds } from "../core/time.ts";

/** Where `serve`, `ingest` and `kv` keep the timestamp database unless `--db` says otherwise. */
export const DEFAULT_DB_PATH = "data/timestamps.sqlite";

/** Bumped whenever the schema below changes; older files are migrated in `migrate`. */
export const SCHEMA_VERSION = 1;

/** One publish time to record. `crate` may be in any case; it is stored lowercased like the index path. */
export interface PublishTimeRow {
  readonly crate: string;
  readonly version: string;
  readonly publishedAt: UnixSeconds;
}

/**
 * The SQLite timestamp database: the ingest job writes it, the Node server reads it (WAL mode, so a running server
 * sees each committed ingest on its next query, without a restart).
 */
export class TimestampDatabase implements PublishTimes {
  readonly db: Database.Database;
  private readonly selectCrate: Database.Statement<[string], { version: string; published_at: number }>;
  private readonly upsert: Database.Statement<[string, string, number]>;

  constructor(path: string, options: { readonly?: boolean } = {}) {
    if (path !== ":memory:" && !options.readonly) mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    if (!options.readonly) {
      this.db.pragma("journal_mode = WAL");
      migrate(this.db);
    }
    this.db.pragma("busy_timeout = 5000");
    this.selectCrate = this.db.prepare("SELECT version, published_at FROM versions WHERE crate = ?");
    // A publish time, once recorded, never moves earlier: sources that disagree resolve to the later time.
    this.upsert = this.db.prepare(
      `INSERT INTO versions (crate, version, published_at) VALUES (?, ?, ?)
       ON CONFLICT (crate, version) DO UPDATE SET published_at = max(published_at, excluded.published_at)`,
    );
  }

  async lookup(crate: string): Promise<CrateRecord | null> {
    return this.recordFor(crate);
  }

  recordFor(crate: string): CrateRecord | null {
    const rows = this.selectCrate.all(crate.toLowerCase());
    if (rows.length === 0) return null;
    return { crate: crate.toLowerCase(), versions: new Map(rows.map((row) => [row.version, row.published_at])) };
  }

  /** Records publish times in one transaction. */
  record(rows: Iterable<PublishTimeRow>): void {
    this.db.transaction(() => {
      for (const row of rows) this.upsert.run(row.crate.toLowerCase(), row.version, Math.floor(row.publishedAt));
    })();
  }

  close(): void {
    this.db.close();
  }
}

function migrate(db: Database.Database): void {
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new Error(`timestamp database schema ${version} is newer than this build understands (${SCHEMA_VERSION})`);
  }
  if (version < 1) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS versions (
        crate TEXT NOT NULL,            -- lowercased crate name, as in the index path
        version TEXT NOT NULL,          -- `vers` exactly, build metadata included
        published_at INTEGER NOT NULL,  -- Unix seconds
        PRIMARY KEY (crate, version)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }
}
