import { formatRfc3339, type UnixSeconds } from "../core/time.ts";
import { openTimestampDatabaseForWriting } from "../node/open-database.ts";
import { formatBytes } from "../node/progress.ts";
import { UserError } from "../node/user-error.ts";
import { type DumpMergeOutcome, digestSeedOf, mergeDump } from "../store/dump-merge.ts";
import { closeFeedGapsCoveredBy } from "../store/feed-gaps.ts";
import { META_KEYS } from "../store/meta-keys.ts";
import { readDumpArchive } from "./dump-archive-reader.ts";
import { type DumpProgress, silentDumpProgress } from "./dump-progress.ts";
import { DumpSnapshot } from "./dump-snapshot.ts";
import { openDumpSource } from "./dump-source.ts";
import { DumpFormatError } from "./dump-table-readers.ts";

export interface DumpIngestOptions {
  /** URL or path of `db-dump.tar.gz`. */
  readonly source: string;
  readonly dbPath: string;
  readonly progress?: DumpProgress;
  /** Aborting stops the read; the database stays as it was. */
  readonly signal?: AbortSignal;
}

/** What one `ingest dump` did: the one-line summary, and `meta` `dump.last_run` as JSON. */
export interface DumpIngestSummary extends DumpMergeOutcome {
  readonly source: string;
  /** The dump's top folder, e.g. `2026-11-21-020017`. */
  readonly folder: string;
  /** This dump's metadata.json `timestamp` (the recorded watermark never moves back: see `watermark`). */
  readonly snapshotAt: UnixSeconds;
  readonly compressedBytes: number;
  /** Data rows read from crates.csv, versions.csv and deleted_crates.csv. */
  readonly rowsRead: number;
  readonly crates: number;
  readonly versions: number;
  readonly yankedVersions: number;
  /** Version rows whose crate_id is not in crates.csv (skipped). */
  readonly orphanVersions: number;
  readonly deletedCrates: number;
  readonly gapsClosed: number;
  readonly readSeconds: number;
  readonly applySeconds: number;
  readonly durationSeconds: number;
}

/**
 * `ingest dump`: reads crates.io's database dump in one streaming pass and applies it to the timestamp database in
 * one transaction. Any failure — a download that stops, a corrupt archive, a missing file or column, an unreadable
 * value — leaves the database exactly as it was and throws a `UserError` whose message is one line saying what.
 */
export async function ingestDump(options: DumpIngestOptions): Promise<DumpIngestSummary> {
  const started = performance.now();
  const progress = options.progress ?? silentDumpProgress;
  // Opened first: a database that cannot be written fails before a 1.7 GiB download, not after.
  const database = openTimestampDatabaseForWriting(options.dbPath);
  try {
    const snapshot = new DumpSnapshot(digestSeedOf(database));
    let compressedBytes = 0;
    let folder: string;
    try {
      const source = await openDumpSource(options.source, options.signal);
      source.stream.on("data", (chunk: Buffer) => {
        compressedBytes += chunk.length;
      });
      progress.start(source.totalBytes, () => ({
        bytes: compressedBytes,
        rows: snapshot.cratesRead + snapshot.versionRows,
      }));
      try {
        folder = (await readDumpArchive(source.stream, snapshot, options.signal)).folder;
      } finally {
        progress.stop();
      }
    } catch (error) {
      throw asUserError(error, options.source);
    }
    const readSeconds = (performance.now() - started) / 1000;

    // The apply starts with grouping the rows by crate (crateCount asks for it).
    const applyStarted = performance.now();
    progress.note(
      `ingest dump: applying ${snapshot.versionRows.toLocaleString("en-US")} versions of ${snapshot.crateCount.toLocaleString("en-US")} crates in one transaction`,
    );
    let gapsClosed = 0;
    let outcome: DumpMergeOutcome;
    try {
      database.prepareForBulkWrite();
      outcome = mergeDump(database, snapshot, {
        beforeCommit: (merged) => {
          gapsClosed = closeFeedGapsCoveredBy(database, merged.watermark);
        },
      });
    } catch (error) {
      throw asUserError(error, options.source, options.dbPath);
    }
    const applySeconds = (performance.now() - applyStarted) / 1000;
    const summary: DumpIngestSummary = {
      ...outcome,
      source: options.source,
      folder,
      snapshotAt: snapshot.watermark,
      compressedBytes,
      rowsRead: snapshot.cratesRead + snapshot.versionRows + snapshot.deletedRows,
      crates: snapshot.crateCount,
      versions: snapshot.versionRows,
      yankedVersions: snapshot.yankedRows,
      orphanVersions: snapshot.orphanRows,
      deletedCrates: snapshot.deletedCrates.size,
      gapsClosed,
      readSeconds,
      applySeconds,
      durationSeconds: (performance.now() - started) / 1000,
    };
    database.setMeta(META_KEYS.dumpLastRun, JSON.stringify({ ...summary, finishedAt: Math.floor(Date.now() / 1000) }));
    return summary;
  } finally {
    database.close();
  }
}

/** The one-line summary printed after every successful run. */
export function formatDumpSummary(s: DumpIngestSummary): string {
  const n = (value: number) => value.toLocaleString("en-US");
  const parts = [
    `ingest dump: snapshot ${formatRfc3339(s.snapshotAt)} (${s.folder || "no folder"})`,
    `${n(s.rowsRead)} rows read (${n(s.crates)} crates, ${n(s.versions)} versions, ${n(s.deletedCrates)} deleted crates)`,
    `${n(s.added)} versions new, ${n(s.movedLater)} moved later, ${n(s.earlierIgnored)} earlier times ignored, ${n(s.forgotten)} forgotten`,
    `${n(s.changedCrates)} crates changed, ${n(s.unchangedCrates)} unchanged`,
    `${formatBytes(s.compressedBytes)} in ${s.durationSeconds.toFixed(1)} s (read ${s.readSeconds.toFixed(1)} s, apply ${s.applySeconds.toFixed(1)} s)`,
  ];
  parts.push(
    `${n(s.publishersLearned)} publishers learned, owners of ${n(s.ownersChanged)} crates changed (trust signals)`,
  );
  if (s.orphanVersions > 0) parts.push(`${n(s.orphanVersions)} versions of unknown crates skipped`);
  if (s.gapsClosed > 0) parts.push(`${s.gapsClosed} feed gaps closed`);
  return parts.join("; ");
}

/** Failures a user can act on become one line; anything else is a bug and keeps its stack. */
function asUserError(error: unknown, source: string, dbPath?: string): unknown {
  const unchanged = "the database was not changed";
  if (error instanceof UserError) return new UserError(`${error.message}; ${unchanged}`);
  if (error instanceof DumpFormatError) return new UserError(`dump ${source}: ${error.message}; ${unchanged}`);
  if (error instanceof Error && error.name === "SqliteError" && dbPath !== undefined) {
    return new UserError(`timestamp database ${dbPath}: ${error.message}; ${unchanged}`);
  }
  if (error instanceof Error && error.name === "AbortError")
    return new UserError(`dump ${source}: interrupted; ${unchanged}`);
  return error;
}
