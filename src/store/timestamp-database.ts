import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { PublishTimes } from "../core/ports.ts";
import type { CrateRecord } from "../core/publish-times.ts";
import type { UnixSeconds } from "../core/time.ts";
import {
  ADVISORIES_DDL,
  type AdvisorySync,
  advisoriesFor,
  replaceAdvisories,
  type StoredAdvisory,
} from "./advisories.ts";
import {
  API_QUEUE_DDL,
  crateTrustOf,
  hasTrustData,
  ownersReader,
  type ProvenanceRow,
  SELECT_PROVENANCE,
  TRUST_DDL,
} from "./trust-data.ts";

/** Where `serve`, `ingest` and `kv` keep the timestamp database unless `--db` says otherwise. */
export const DEFAULT_DB_PATH = "data/timestamps.sqlite";

/** Rows per JSON array handed to one statement: few statements, bounded memory. */
const JSON_BATCH = 4096;

/** Bumped whenever the schema below changes; older files are migrated in `migrate`. */
export const SCHEMA_VERSION = 5;

/** One publish time to record. `crate` may be in any case; it is stored lowercased like the index path. */
export interface PublishTimeRow {
  readonly crate: string;
  readonly version: string;
  readonly publishedAt: UnixSeconds;
}

/** What one `record` call did. */
export interface RecordOutcome {
  /** Versions the database did not know. */
  readonly added: number;
  /** Versions whose time moved later because a source reported a later time. */
  readonly movedLater: number;
  /** Reports of an earlier time than the one recorded: ignored (a time never moves earlier), counted. */
  readonly earlierIgnored: number;
  /** Crates whose record changed (their revision was bumped, so `kv push` sends them). */
  readonly changedCrates: number;
}

/**
 * The SQLite timestamp database: the ingest job writes it, the Node server reads it (WAL mode, so a running server
 * sees each committed ingest on its next query, without a restart).
 *
 * Tables:
 * - `versions(crate, version, published_at)`: the publish times; `crate` lowercased, `version` = index `vers`.
 * - `crate_revisions(crate, revision)`: bumped from the global counter `meta.revision` whenever a crate's record
 *   changes; `kv push` sends every crate whose revision is above what `kv_pushed` holds for that store.
 * - `kv_pushed(store_id, crate, revision)`: the revision a KV store is known to hold, written only after the API
 *   accepted it, so an interrupted push loses nothing.
 * - `meta(key, value)`: freshness and bookkeeping (dump watermark, feed validator, last poll, last push …); the keys
 *   are listed in meta-keys.ts.
 * - `advisories(id, crate, patched, withdrawn)`: RustSec advisories, for security-fix admission (advisories.ts).
 * - `dump_digests(crate, digest)`: a keyed hash of the crate's rows in the last applied dump, so re-applying a dump
 *   skips every crate whose rows did not change (see dump-merge.ts).
 * - `crate_owners(crate, owner, added_at)` and the publisher columns of `versions`: the trust signals' data
 *   (trust-data.ts).
 * - `api_lookups(crate, queued_at, attempts, not_before, last_error)`: crates.io API lookups to make (api-queue.ts).
 */
export class TimestampDatabase implements PublishTimes {
  /** The SQLite connection, for the modules of src/store only: SQL stays in this folder (test/architecture checks it). */
  readonly db: Database.Database;
  private readonly selectCrate: Database.Statement<[string], ProvenanceRow>;
  private readonly ownersOf: ReturnType<typeof ownersReader>;
  private readonly selectTime: Database.Statement<[string, string], { published_at: number }>;
  private readonly insertTime: Database.Statement<[string, string, number]>;
  private readonly moveTimeLater: Database.Statement<[number, string, string]>;
  private readonly bumpRevisions: Database.Statement<[number, string]>;
  private readonly selectMeta: Database.Statement<[string], { value: string }>;
  private readonly upsertMeta: Database.Statement<[string, string]>;
  private readonly selectDataVersion: Database.Statement<[], number>;

  constructor(path: string, options: { readonly?: boolean } = {}) {
    if (path !== ":memory:" && !options.readonly) mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    this.db.pragma("busy_timeout = 5000");
    if (!options.readonly) {
      this.db.pragma("journal_mode = WAL");
      migrate(this.db);
    }
    this.selectCrate = this.db.prepare<[string], ProvenanceRow>(SELECT_PROVENANCE).raw();
    this.ownersOf = ownersReader(this.db);
    this.selectTime = this.db.prepare("SELECT published_at FROM versions WHERE crate = ? AND version = ?");
    this.insertTime = this.db.prepare("INSERT OR IGNORE INTO versions (crate, version, published_at) VALUES (?, ?, ?)");
    this.moveTimeLater = this.db.prepare("UPDATE versions SET published_at = ? WHERE crate = ? AND version = ?");
    this.bumpRevisions = this.db.prepare(
      "INSERT INTO crate_revisions (crate, revision) SELECT value, ? + key FROM json_each(?) WHERE true ON CONFLICT (crate) DO UPDATE SET revision = excluded.revision",
    );
    this.selectMeta = this.db.prepare("SELECT value FROM meta WHERE key = ?");
    this.upsertMeta = this.db.prepare(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    );
    this.selectDataVersion = this.db.prepare<[], number>("PRAGMA data_version").pluck();
  }

  async lookup(crate: string): Promise<CrateRecord | null> {
    return this.recordFor(crate);
  }

  /**
   * The crate's publish times, the advisories that may admit one of its versions early, and (once the database holds
   * trust data) its trust signals; null when it knows nothing of the crate.
   */
  recordFor(crate: string): CrateRecord | null {
    const name = crate.toLowerCase();
    const rows = this.selectCrate.all(name);
    const advisories = advisoriesFor(this.db, name);
    if (rows.length === 0 && advisories.length === 0) return null;
    const versions = new Map(rows.map((row) => [row[0], row[1]]));
    const trust =
      rows.length > 0 && hasTrustData((key) => this.getMeta(key)) ? crateTrustOf(rows, this.ownersOf(name)) : undefined;
    return {
      crate: name,
      versions,
      ...(advisories.length === 0 ? {} : { advisories }),
      ...(trust === undefined ? {} : { trust }),
    };
  }

  /**
   * Records publish times. A time once recorded never moves earlier: when sources disagree the later one is kept
   * and the disagreement counted. Runs in one transaction (or inside the caller's).
   */
  record(rows: Iterable<PublishTimeRow>): RecordOutcome {
    return this.db.transaction(() => {
      let added = 0;
      let movedLater = 0;
      let earlierIgnored = 0;
      const changed = new Set<string>();
      for (const row of rows) {
        const crate = row.crate.toLowerCase();
        const at = Math.floor(row.publishedAt);
        if (this.insertTime.run(crate, row.version, at).changes === 1) {
          added++;
          changed.add(crate);
          continue;
        }
        const existing = (this.selectTime.get(crate, row.version) as { published_at: number }).published_at;
        if (at > existing) {
          this.moveTimeLater.run(at, crate, row.version);
          movedLater++;
          changed.add(crate);
        } else if (at < existing) {
          earlierIgnored++;
        }
      }
      this.markChanged(changed);
      return { added, movedLater, earlierIgnored, changedCrates: changed.size };
    })();
  }

  /** Bumps the revision of each crate so the next `kv push` sends it; a statement per 4,096 crates. */
  markChanged(crates: Iterable<string>): void {
    this.db.transaction(() => {
      let revision = Number(this.getMeta("revision") ?? "0");
      let batch: string[] = [];
      const flush = () => {
        // json_each's key is the array index: the batch gets revisions revision+1 … revision+n, in the order given.
        this.bumpRevisions.run(revision + 1, JSON.stringify(batch));
        revision += batch.length;
        batch = [];
      };
      for (const crate of crates) if (batch.push(crate.toLowerCase()) === JSON_BATCH) flush();
      if (batch.length > 0) flush();
      this.setMeta("revision", String(revision));
    })();
  }

  /**
   * For one large transaction on this connection (a dump): a page cache that holds the B-trees' inner pages (inserts
   * come in key order, so more buys nothing), and a WAL cut back to 64 MiB after the checkpoint instead of keeping the
   * size of the biggest transaction.
   */
  prepareForBulkWrite(): void {
    this.db.pragma("cache_size = -8192");
    this.db.pragma("journal_size_limit = 67108864");
  }

  /** Runs `work` in one transaction (nested in the caller's when there is one): all of it commits, or none. */
  transaction<T>(work: () => T): T {
    return this.db.transaction(work)();
  }

  /**
   * SQLite's `data_version`: changes whenever another connection (the ingest job) commits, so a reader can tell
   * whether anything it derived from the database may be stale. Prepared once: the server asks on every hit.
   */
  dataVersion(): number {
    return this.selectDataVersion.get() as number;
  }

  /** Makes the advisories table hold exactly `advisories` (advisories.ts); says which crates' admissions changed. */
  replaceAdvisories(advisories: readonly StoredAdvisory[]): AdvisorySync {
    return replaceAdvisories(this.db, advisories);
  }

  getMeta(key: string): string | null {
    return this.selectMeta.get(key)?.value ?? null;
  }

  setMeta(key: string, value: string): void {
    this.upsertMeta.run(key, value);
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
        version TEXT NOT NULL,          -- \`vers\` exactly, build metadata included
        published_at INTEGER NOT NULL,  -- Unix seconds
        PRIMARY KEY (crate, version)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS crate_revisions (
        crate TEXT PRIMARY KEY,
        revision INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS kv_pushed (
        store_id TEXT NOT NULL,
        crate TEXT NOT NULL,
        revision INTEGER NOT NULL,
        PRIMARY KEY (store_id, crate)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
  }
  if (version < 2) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS dump_digests (
        crate TEXT PRIMARY KEY,         -- lowercased crate name
        digest INTEGER NOT NULL         -- order-independent keyed hash of (version, published_at) rows in the last dump
      ) WITHOUT ROWID;
    `);
  }
  if (version < 3) db.exec(ADVISORIES_DDL);
  if (version < 4) db.exec(TRUST_DDL);
  if (version < 5) db.exec(API_QUEUE_DDL);
  if (version < SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
}
