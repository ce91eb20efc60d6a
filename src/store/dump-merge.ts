import { randomInt } from "node:crypto";
import type { UnixSeconds } from "../core/time.ts";
import { META_KEYS } from "./meta-keys.ts";
import type { TimestampDatabase } from "./timestamp-database.ts";

/** One crate of a dump, as `mergeDump` reads it. */
export interface DumpCrateView {
  /** Lowercased crate name. */
  readonly crate: string;
  /** This crate's `DumpView.indexOf`. */
  readonly index: number;
  readonly versionCount: number;
  /** An order-independent hash of the crate's (version, time) rows, keyed with `DumpView.digestSeed`. */
  digest(): number;
  forEachVersion(visit: (version: string, publishedAt: UnixSeconds) => void): void;
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
  /** The newest watermark now recorded (a dump older than one applied before does not move it back). */
  readonly watermark: UnixSeconds;
}

/** Rows per multi-row INSERT: one call into SQLite per 64 rows instead of per row. */
const BATCH_ROWS = 64;
/** Digests per JSON array handed to one statement: few statements, bounded memory. */
const DIGEST_BATCH = 4096;

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
 * - A crate in deleted_crates.csv loses the versions recorded before its deletion that the dump no longer lists:
 *   a name can be re-registered and its old version numbers published again, and an old time must not make the
 *   new release look mature. Forgetting is safe: an unknown time hides the version (fail closed).
 */
export function mergeDump(database: TimestampDatabase, dump: DumpView, hooks: DumpMergeHooks = {}): DumpMergeOutcome {
  const db = database.db;
  const insertBatch = db.prepare(
    `INSERT INTO versions (crate, version, published_at) VALUES ${Array(BATCH_ROWS).fill("(?, ?, ?)").join(", ")}
     ON CONFLICT (crate, version) DO UPDATE SET published_at = max(published_at, excluded.published_at)`,
  );
  const insertOne = db.prepare(
    `INSERT INTO versions (crate, version, published_at) VALUES (?, ?, ?)
     ON CONFLICT (crate, version) DO UPDATE SET published_at = max(published_at, excluded.published_at)`,
  );
  const selectCrate = db.prepare<[string], [string, number]>("SELECT version, published_at FROM versions WHERE crate = ?").raw();
  const updateTime = db.prepare<[number, string, string]>("UPDATE versions SET published_at = ? WHERE crate = ? AND version = ?");
  const deleteVersion = db.prepare<[string, string]>("DELETE FROM versions WHERE crate = ? AND version = ?");
  const deleteBefore = db.prepare<[string, number]>("DELETE FROM versions WHERE crate = ? AND published_at <= ?");
  const upsertDigests = db.prepare<[string]>(
    "INSERT INTO dump_digests (crate, digest) SELECT value->>0, value->>1 FROM json_each(?) WHERE true ON CONFLICT (crate) DO UPDATE SET digest = excluded.digest",
  );
  const deleteDigest = db.prepare<[string]>("DELETE FROM dump_digests WHERE crate = ?");

  return db.transaction((): DumpMergeOutcome => {
    const stored = database.getMeta(META_KEYS.dumpDigestSeed);
    // The key is stored with the first dump's rows, so a failed first ingest leaves nothing behind.
    if (stored === null) database.setMeta(META_KEYS.dumpDigestSeed, String(dump.digestSeed));
    else if (Number(stored) !== dump.digestSeed) throw new Error("dump digests were computed with another database's key");
    // What the database holds, by the dump's crate index: typed arrays, not 250,000-entry Maps of fresh strings.
    // Crates that may have rows: every crate that ever had one has a revision.
    const known = new Uint8Array(dump.crateCount);
    for (const crate of db.prepare("SELECT crate FROM crate_revisions").pluck().iterate() as Iterable<string>) {
      const index = dump.indexOf(crate);
      if (index >= 0) known[index] = 1;
    }
    const digests = new Float64Array(dump.crateCount).fill(-1);
    for (const [crate, digest] of db.prepare("SELECT crate, digest FROM dump_digests").raw().iterate() as Iterable<[string, number]>) {
      const index = dump.indexOf(crate);
      if (index >= 0) digests[index] = digest;
    }

    const params: (string | number)[] = new Array(BATCH_ROWS * 3);
    let pending = 0;
    const insert = (crate: string, version: string, at: UnixSeconds) => {
      const k = pending * 3;
      params[k] = crate;
      params[k + 1] = version;
      params[k + 2] = at;
      if (++pending === BATCH_ROWS) {
        insertBatch.run(params);
        pending = 0;
      }
    };

    let added = 0;
    let movedLater = 0;
    let earlierIgnored = 0;
    let forgotten = 0;
    let unchangedCrates = 0;
    let done = 0;
    const changed: string[] = [];
    const newDigests: [string, number][] = [];

    for (const entry of dump.crates()) {
      const crate = entry.crate;
      if (hooks.onCrates !== undefined && ++done % 10_000 === 0) hooks.onCrates(done);
      const digest = entry.digest();
      const deletedAt = dump.deletedCrates.get(crate);
      const storedDigest = digests[entry.index];
      if (storedDigest === digest && deletedAt === undefined) {
        unchangedCrates++;
        continue;
      }
      if (known[entry.index] !== 1) {
        entry.forEachVersion((version, at) => insert(crate, version, Math.floor(at)));
        added += entry.versionCount;
        changed.push(crate);
      } else {
        const recorded = new Map(selectCrate.all(crate));
        const listed = deletedAt === undefined ? null : new Set<string>();
        let crateChanged = false;
        entry.forEachVersion((version, rawAt) => {
          const at = Math.floor(rawAt);
          listed?.add(version);
          const before = recorded.get(version);
          if (before === undefined) {
            insert(crate, version, at);
            recorded.set(version, at);
            added++;
            crateChanged = true;
          } else if (at > before) {
            updateTime.run(at, crate, version);
            recorded.set(version, at);
            movedLater++;
            crateChanged = true;
          } else if (at < before) {
            earlierIgnored++;
          }
        });
        if (listed !== null && deletedAt !== undefined) {
          for (const [version, at] of recorded) {
            if (at <= deletedAt && !listed.has(version)) {
              deleteVersion.run(crate, version);
              forgotten++;
              crateChanged = true;
            }
          }
        }
        if (crateChanged) changed.push(crate);
      }
      if (storedDigest !== digest && newDigests.push([crate, digest]) === DIGEST_BATCH) {
        upsertDigests.run(JSON.stringify(newDigests));
        newDigests.length = 0;
      }
    }
    for (let k = 0; k < pending * 3; k += 3) insertOne.run(params[k], params[k + 1], params[k + 2]);
    pending = 0;

    for (const [crate, deletedAt] of dump.deletedCrates) {
      // Deleted crates are a few thousand: a keyed DELETE each is cheaper than knowing which ones we hold.
      if (dump.hasVersionsOf(crate)) continue;
      const removed = deleteBefore.run(crate, deletedAt).changes;
      deleteDigest.run(crate);
      if (removed > 0) {
        forgotten += removed;
        changed.push(crate);
      }
    }

    if (newDigests.length > 0) upsertDigests.run(JSON.stringify(newDigests));
    database.markChanged(changed);
    const previous = Number(database.getMeta(META_KEYS.dumpWatermark) ?? "NaN");
    const watermark = Number.isFinite(previous) && previous > dump.watermark ? previous : Math.floor(dump.watermark);
    database.setMeta(META_KEYS.dumpWatermark, String(watermark));
    const outcome = { added, movedLater, earlierIgnored, forgotten, changedCrates: changed.length, unchangedCrates, watermark };
    hooks.beforeCommit?.(outcome);
    return outcome;
  }).immediate();
}

/**
 * The key of this database's dump digests: the stored one, or (before the first dump) a fresh random one that
 * `mergeDump` stores with the rows. Random, so nobody can craft versions whose digest collides with another's.
 */
export function digestSeedOf(database: TimestampDatabase): number {
  const stored = database.getMeta(META_KEYS.dumpDigestSeed);
  return stored === null ? randomInt(0, 2 ** 31) : Number(stored) | 0;
}
