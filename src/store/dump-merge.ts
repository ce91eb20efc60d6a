import { randomInt } from "node:crypto";
import type { Statement } from "better-sqlite3";
import type { UnixSeconds } from "../core/time.ts";
import type { CrateOwnerAddition } from "../core/trust-signals.ts";
import { META_KEYS } from "./meta-keys.ts";
import type { TimestampDatabase } from "./timestamp-database.ts";
import { dumpViaCode } from "./trust-data.ts";

/** One crate of a dump, as `mergeDump` reads it. */
export interface DumpCrateView {
  /** Lowercased crate name. */
  readonly crate: string;
  /** This crate's `DumpView.indexOf`. */
  readonly index: number;
  readonly versionCount: number;
  /** An order-independent hash of the crate's (version, time, publisher) rows and owners, keyed with `DumpView.digestSeed`. */
  digest(): number;
  /** `publishedBy`: versions.csv `published_by` (a users.csv id), or -1 when empty. */
  forEachVersion(visit: (version: string, publishedAt: UnixSeconds, publishedBy: number) => void): void;
  /** The crate's owners, with the time each was added. */
  owners(): readonly CrateOwnerAddition[];
}

/** A whole dump, as `mergeDump` reads it. */
export interface DumpView {
  /** The key the digests were computed with: this database's `digestSeedOf(database)`. */
  readonly digestSeed: number;
  /** metadata.json's `timestamp`. */
  readonly watermark: UnixSeconds;
  /** Crates with versions, ideally in ascending name order (inserts then land in primary-key order). */
  crates(): Iterable<DumpCrateView>;
  /** Lowercased name → latest deletion time, from deleted_crates.csv. */
  readonly deletedCrates: ReadonlyMap<string, UnixSeconds>;
  /** Whether the dump lists versions of this (lowercased) crate. */
  hasVersionsOf(crate: string): boolean;
  /** Crate indexes run from 0 to `crateCount` − 1. */
  readonly crateCount: number;
  /** The index of a lowercased crate name, or -1 when the dump does not list it. */
  indexOf(crate: string): number;
  /** users.csv: `[id, login]`. */
  accounts(): Iterable<[number, string]>;
}

/** What applying one dump did. */
export interface DumpMergeOutcome {
  readonly added: number;
  readonly movedLater: number;
  /** Dump times earlier than the recorded ones: ignored (a time never moves earlier), counted. */
  readonly earlierIgnored: number;
  /** Versions of deleted crates that are gone from crates.io: forgotten, so a re-registered name starts unknown. */
  readonly forgotten: number;
  /** Crates whose record changed: their revision was bumped, so `kv push` sends them. */
  readonly changedCrates: number;
  /** Crates skipped because their rows equal those of the last dump applied. */
  readonly unchangedCrates: number;
  /** Versions whose publisher (account, trusted publishing or none) was learned or changed. */
  readonly publishersLearned: number;
  /** Crates whose owners were learned or changed. */
  readonly ownersChanged: number;
  /** The newest watermark now recorded (a dump older than one applied before does not move it back). */
  readonly watermark: UnixSeconds;
}

/** Rows per multi-row INSERT: one call into SQLite per 64 rows instead of per row. */
const BATCH_ROWS = 64;
/** Accounts per JSON array handed to one statement: few statements, bounded memory. */
const ACCOUNT_BATCH = 4096;
/** Changed crates per revision bump. */
const CHANGED_BATCH = 4096;

export interface DumpMergeHooks {
  /** Called every 10,000 crates. */
  readonly onCrates?: (done: number) => void;
  /** Runs inside the transaction after the rows are merged (bookkeeping that must commit with them). */
  readonly beforeCommit?: (outcome: DumpMergeOutcome) => void;
}

/**
 * Applies a dump to the timestamp database in one transaction (BEGIN IMMEDIATE): all of it or, on any error, none.
 *
 * - Never earlier: a dump time later than the recorded one moves it later, an earlier one is counted and ignored
 *   (the rule of TimestampDatabase.record).
 * - Cheap when nothing changed: each crate's rows are digested; a crate whose digest equals the one stored by the
 *   last dump is skipped unread, so re-applying an identical dump writes nothing and bumps no revision.
 * - A crate the database has never seen takes batched inserts without a lookup (the first ingest is all of these).
 * - Publishers and owners (the trust signals' data) are the dump's: they replace what was recorded.
 * - A crate in deleted_crates.csv loses the versions recorded before its deletion that the dump no longer lists:
 *   a name can be re-registered and its old version numbers published again, and an old time must not make the
 *   new release look mature. Forgetting is safe: an unknown time hides the version (fail closed).
 */
export function mergeDump(database: TimestampDatabase, dump: DumpView, hooks: DumpMergeHooks = {}): DumpMergeOutcome {
  const merge = new DumpMerge(database, dump);
  return database.db
    .transaction((): DumpMergeOutcome => {
      merge.checkDigestSeed();
      merge.readWhatTheDatabaseHolds();
      let done = 0;
      for (const entry of dump.crates()) {
        if (hooks.onCrates !== undefined && ++done % 10_000 === 0) hooks.onCrates(done);
        merge.mergeCrate(entry);
      }
      merge.flushInserts();
      merge.flushOwners();
      merge.saveAccounts();
      merge.forgetDeletedCrates();
      merge.flushDigests();
      merge.flushChanged();
      // From now on records carry trust data (see trust-data.ts).
      if (database.getMeta(META_KEYS.trustDataSince) === null)
        database.setMeta(META_KEYS.trustDataSince, String(Math.floor(dump.watermark)));
      const outcome = merge.outcome(merge.advanceWatermark());
      hooks.beforeCommit?.(outcome);
      return outcome;
    })
    .immediate();
}

/** One dump being merged: the statements, what the database held before, and the counts so far. */
class DumpMerge {
  private readonly db: TimestampDatabase["db"];
  /** crate, version, published_at, publish_via, publisher_id (logins live in `accounts`). */
  private readonly versionRows: ValuesBatch;
  private readonly selectCrate: Statement<[string], [string, number, number | null, number | null]>;
  private readonly updateProvenance: Statement<[number | null, number | null, string, string]>;
  private readonly upsertAccounts: Statement<[string]>;
  private readonly selectOwners: Statement<[string], [string, number]>;
  private readonly deleteOwners: Statement<[string]>;
  /** crate, owner, added_at. */
  private readonly ownerRows: ValuesBatch;
  private readonly updateTime: Statement<[number, string, string]>;
  private readonly deleteVersion: Statement<[string, string]>;
  private readonly deleteBefore: Statement<[string, number]>;
  /** crate, digest. */
  private readonly digestRows: ValuesBatch;
  private readonly deleteDigest: Statement<[string]>;
  /** By the dump's crate index: 1 when the database may hold rows of the crate. */
  private known = new Uint8Array(0);
  /** By the dump's crate index: the digest the last dump stored, or -1. */
  private digests = new Float64Array(0);
  /** Changed crates whose revision is not bumped yet (bumped a batch at a time: 250,000 names need not sit on the heap). */
  private changed: string[] = [];
  private changedCrates = 0;
  private added = 0;
  private movedLater = 0;
  private earlierIgnored = 0;
  private forgotten = 0;
  private unchangedCrates = 0;
  private publishersLearned = 0;
  private ownersChanged = 0;

  constructor(
    private readonly database: TimestampDatabase,
    private readonly dump: DumpView,
  ) {
    const db = (this.db = database.db);
    this.versionRows = new ValuesBatch(
      db,
      5,
      (values) => `INSERT INTO versions (crate, version, published_at, publish_via, publisher_id) VALUES ${values}
       ON CONFLICT (crate, version) DO UPDATE SET published_at = max(published_at, excluded.published_at),
         publish_via = excluded.publish_via, publisher_id = excluded.publisher_id`,
    );
    this.selectCrate = db
      .prepare<[string], [string, number, number | null, number | null]>(
        "SELECT version, published_at, publish_via, publisher_id FROM versions WHERE crate = ?",
      )
      .raw();
    this.updateProvenance = db.prepare(
      "UPDATE versions SET publish_via = ?, publisher_id = ? WHERE crate = ? AND version = ?",
    );
    this.upsertAccounts = db.prepare<[string]>(
      "INSERT INTO accounts (id, login) SELECT value->>0, value->>1 FROM json_each(?) WHERE true ON CONFLICT (id) DO UPDATE SET login = excluded.login WHERE login IS NOT excluded.login",
    );
    this.selectOwners = db
      .prepare<[string], [string, number]>("SELECT owner, added_at FROM crate_owners WHERE crate = ?")
      .raw();
    this.deleteOwners = db.prepare<[string]>("DELETE FROM crate_owners WHERE crate = ?");
    this.ownerRows = new ValuesBatch(
      db,
      3,
      (values) => `INSERT OR REPLACE INTO crate_owners (crate, owner, added_at) VALUES ${values}`,
    );
    this.updateTime = db.prepare<[number, string, string]>(
      "UPDATE versions SET published_at = ? WHERE crate = ? AND version = ?",
    );
    this.deleteVersion = db.prepare<[string, string]>("DELETE FROM versions WHERE crate = ? AND version = ?");
    this.deleteBefore = db.prepare<[string, number]>("DELETE FROM versions WHERE crate = ? AND published_at <= ?");
    this.digestRows = new ValuesBatch(
      db,
      2,
      (values) =>
        `INSERT INTO dump_digests (crate, digest) VALUES ${values} ON CONFLICT (crate) DO UPDATE SET digest = excluded.digest`,
    );
    this.deleteDigest = db.prepare<[string]>("DELETE FROM dump_digests WHERE crate = ?");
  }

  /** The digests must be keyed as the stored ones; the key is stored with the first dump's rows. */
  checkDigestSeed(): void {
    const stored = this.database.getMeta(META_KEYS.dumpDigestSeed);
    // Stored inside the transaction, so a failed first ingest leaves nothing behind.
    if (stored === null) this.database.setMeta(META_KEYS.dumpDigestSeed, String(this.dump.digestSeed));
    else if (Number(stored) !== this.dump.digestSeed)
      throw new Error("dump digests were computed with another database's key");
  }

  /**
   * What the database holds, by the dump's crate index: typed arrays, not 250,000-entry Maps of fresh strings.
   * Crates that may have rows: every crate that ever had one has a revision.
   */
  readWhatTheDatabaseHolds(): void {
    this.known = new Uint8Array(this.dump.crateCount);
    for (const crate of this.db.prepare("SELECT crate FROM crate_revisions").pluck().iterate() as Iterable<string>) {
      const index = this.dump.indexOf(crate);
      if (index >= 0) this.known[index] = 1;
    }
    this.digests = new Float64Array(this.dump.crateCount).fill(-1);
    for (const [crate, digest] of this.db.prepare("SELECT crate, digest FROM dump_digests").raw().iterate() as Iterable<
      [string, number]
    >) {
      const index = this.dump.indexOf(crate);
      if (index >= 0) this.digests[index] = digest;
    }
  }

  /** One crate of the dump: skipped when its digest is unchanged, inserted whole when new, else merged row by row. */
  mergeCrate(entry: DumpCrateView): void {
    const digest = entry.digest();
    const deletedAt = this.dump.deletedCrates.get(entry.crate);
    const storedDigest = this.digests[entry.index];
    if (storedDigest === digest && deletedAt === undefined) {
      this.unchangedCrates++;
      return;
    }
    if (this.known[entry.index] !== 1) this.insertNewCrate(entry);
    else if (this.mergeKnownCrate(entry, deletedAt)) this.markChanged(entry.crate);
    if (storedDigest !== digest) this.saveDigest(entry.crate, digest);
  }

  /** A crate the database has never seen: batched inserts, no lookup. */
  private insertNewCrate(entry: DumpCrateView): void {
    const crate = entry.crate;
    entry.forEachVersion((version, at, publishedBy) => this.insert(crate, version, Math.floor(at), publishedBy));
    this.added += entry.versionCount;
    this.publishersLearned += entry.versionCount;
    this.mergeOwners(entry);
    this.markChanged(crate);
  }

  /** Makes the crate's recorded owners the dump's; says whether they changed. */
  private mergeOwners(entry: DumpCrateView): boolean {
    const owners = entry.owners();
    const recorded = this.known[entry.index] === 1 ? this.selectOwners.all(entry.crate) : [];
    const same =
      recorded.length === owners.length &&
      recorded.every(([owner, at]) => owners.some((o) => o.owner === owner && Math.floor(o.addedAt) === at));
    if (same) return false;
    if (recorded.length > 0) this.deleteOwners.run(entry.crate);
    const rows = this.ownerRows;
    for (const owner of owners) {
      const k = rows.at;
      rows.values[k] = entry.crate;
      rows.values[k + 1] = owner.owner;
      rows.values[k + 2] = Math.floor(owner.addedAt);
      rows.added();
    }
    this.ownersChanged++;
    return true;
  }

  /** A crate the database knows: never earlier, and for a deleted crate, forget what the dump no longer lists. */
  private mergeKnownCrate(entry: DumpCrateView, deletedAt: UnixSeconds | undefined): boolean {
    const crate = entry.crate;
    const rows = this.selectCrate.all(crate);
    const recorded = new Map(rows.map((row) => [row[0], row[1]]));
    const provenanceOf = new Map(rows.map((row) => [row[0], row]));
    const listed = deletedAt === undefined ? null : new Set<string>();
    let crateChanged = this.mergeOwners(entry);
    entry.forEachVersion((version, rawAt, publishedBy) => {
      const at = Math.floor(rawAt);
      listed?.add(version);
      const before = recorded.get(version);
      if (before === undefined) {
        this.insert(crate, version, at, publishedBy);
        recorded.set(version, at);
        this.added++;
        this.publishersLearned++;
        crateChanged = true;
        return;
      }
      const row = provenanceOf.get(version);
      const code = dumpViaCode(publishedBy, at);
      const publisherId = publishedBy >= 0 ? publishedBy : null;
      if (row !== undefined && (row[2] !== code || row[3] !== publisherId)) {
        this.updateProvenance.run(code, publisherId, crate, version);
        this.publishersLearned++;
        crateChanged = true;
      }
      if (at > before) {
        this.updateTime.run(at, crate, version);
        recorded.set(version, at);
        this.movedLater++;
        crateChanged = true;
      } else if (at < before) {
        this.earlierIgnored++;
      }
    });
    if (listed !== null && deletedAt !== undefined && this.forgetUnlisted(crate, recorded, listed, deletedAt))
      crateChanged = true;
    return crateChanged;
  }

  /** Versions recorded before the crate's deletion that the dump no longer lists; says whether any went. */
  private forgetUnlisted(
    crate: string,
    recorded: ReadonlyMap<string, UnixSeconds>,
    listed: ReadonlySet<string>,
    deletedAt: UnixSeconds,
  ): boolean {
    let forgotten = false;
    for (const [version, at] of recorded) {
      if (at <= deletedAt && !listed.has(version)) {
        this.deleteVersion.run(crate, version);
        this.forgotten++;
        forgotten = true;
      }
    }
    return forgotten;
  }

  private insert(crate: string, version: string, at: UnixSeconds, publishedBy: number): void {
    const rows = this.versionRows;
    const values = rows.values;
    const k = rows.at;
    values[k] = crate;
    values[k + 1] = version;
    values[k + 2] = at;
    values[k + 3] = dumpViaCode(publishedBy, at);
    values[k + 4] = publishedBy >= 0 ? publishedBy : null;
    rows.added();
  }

  /** The version rows short of a whole batch. */
  flushInserts(): void {
    this.versionRows.flush();
  }

  private saveDigest(crate: string, digest: number): void {
    const rows = this.digestRows;
    const k = rows.at;
    rows.values[k] = crate;
    rows.values[k + 1] = digest;
    rows.added();
  }

  flushDigests(): void {
    this.digestRows.flush();
  }

  /** Owner rows short of a whole batch (deletes of a crate's old owners ran before its rows were queued). */
  flushOwners(): void {
    this.ownerRows.flush();
  }

  /** The logins of the dump's accounts (users.csv), for the records' evidence; a renamed account's login follows. */
  saveAccounts(): void {
    let batch: [number, string][] = [];
    for (const account of this.dump.accounts()) {
      if (batch.push(account) === ACCOUNT_BATCH) {
        this.upsertAccounts.run(JSON.stringify(batch));
        batch = [];
      }
    }
    if (batch.length > 0) this.upsertAccounts.run(JSON.stringify(batch));
  }

  /** Deleted crates the dump lists no versions of: their versions recorded before the deletion are forgotten. */
  forgetDeletedCrates(): void {
    for (const [crate, deletedAt] of this.dump.deletedCrates) {
      // Deleted crates are a few thousand: a keyed DELETE each is cheaper than knowing which ones we hold.
      if (this.dump.hasVersionsOf(crate)) continue;
      const removed = this.deleteBefore.run(crate, deletedAt).changes;
      this.deleteDigest.run(crate);
      if (removed > 0) {
        this.forgotten += removed;
        this.markChanged(crate);
      }
    }
  }

  /** The crate's revision is bumped (in order: revisions follow the order crates are marked in). */
  private markChanged(crate: string): void {
    this.changedCrates++;
    if (this.changed.push(crate) === CHANGED_BATCH) this.flushChanged();
  }

  flushChanged(): void {
    this.database.markChanged(this.changed);
    this.changed = [];
  }

  /** The newest watermark (a dump older than one applied before does not move it back), recorded. */
  advanceWatermark(): UnixSeconds {
    const previous = Number(this.database.getMeta(META_KEYS.dumpWatermark) ?? "NaN");
    const watermark =
      Number.isFinite(previous) && previous > this.dump.watermark ? previous : Math.floor(this.dump.watermark);
    this.database.setMeta(META_KEYS.dumpWatermark, String(watermark));
    return watermark;
  }

  outcome(watermark: UnixSeconds): DumpMergeOutcome {
    const { added, movedLater, earlierIgnored, forgotten, unchangedCrates, publishersLearned, ownersChanged } = this;
    return {
      added,
      movedLater,
      earlierIgnored,
      forgotten,
      changedCrates: this.changedCrates,
      unchangedCrates,
      publishersLearned,
      ownersChanged,
      watermark,
    };
  }
}

/**
 * Rows for a multi-row INSERT (`VALUES (?, …), (?, …), …`), `BATCH_ROWS` to a statement. Write a row's values at
 * `values[at …]`, then call `added()`; `flush()` inserts the rows short of a batch. The values go to `run` spread as
 * arguments: better-sqlite3 then reads each as an argument, not through a lookup on an array (a third of the
 * statement's cost, measured).
 */
class ValuesBatch {
  readonly values: (string | number | null)[];
  private rows = 0;
  private readonly full: Statement<unknown[]>;

  constructor(
    private readonly db: TimestampDatabase["db"],
    private readonly width: number,
    private readonly sql: (values: string) => string,
  ) {
    this.values = new Array(BATCH_ROWS * width).fill(null);
    this.full = db.prepare(this.statementFor(BATCH_ROWS));
  }

  /** Where the next row's first value goes. */
  get at(): number {
    return this.rows * this.width;
  }

  added(): void {
    if (++this.rows === BATCH_ROWS) {
      this.full.run(...this.values);
      this.rows = 0;
    }
  }

  flush(): void {
    if (this.rows === 0) return;
    this.db.prepare(this.statementFor(this.rows)).run(...this.values.slice(0, this.rows * this.width));
    this.rows = 0;
  }

  private statementFor(rows: number): string {
    const row = `(${Array(this.width).fill("?").join(", ")})`;
    return this.sql(Array(rows).fill(row).join(", "));
  }
}

/**
 * The key of this database's dump digests: the stored one, or (before the first dump) a fresh random one that
 * `mergeDump` stores with the rows. Random, so nobody can craft versions whose digest collides with another's.
 */
export function digestSeedOf(database: TimestampDatabase): number {
  const stored = database.getMeta(META_KEYS.dumpDigestSeed);
  return stored === null ? randomInt(0, 2 ** 31) : Number(stored) | 0;
}
