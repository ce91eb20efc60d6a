import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { encodeFreshness, FRESHNESS_KV_KEY } from "../core/freshness.ts";
import { crateNameProblem } from "../core/index-path.ts";
import { encodePolicy, POLICY_KV_KEY, type Policy } from "../core/policy-document.ts";
import { encodeCrateRecord } from "../core/publish-times.ts";
import { allCrateRecords } from "../store/crate-records.ts";
import { readFreshness } from "../store/database-freshness.ts";
import type { TimestampDatabase } from "../store/timestamp-database.ts";

export interface KvExportSummary {
  readonly path: string;
  readonly crates: number;
  /** Names that are not crate names, left out as `kv push` leaves them out. */
  readonly skipped: number;
  readonly bytes: number;
  readonly durationMs: number;
}

/** Bytes buffered before a write: few syscalls, bounded memory. */
const WRITE_CHUNK = 1 << 20;

/**
 * `kv export`: the whole store as the JSON object `[local_server.kv_stores]` reads with `format = "json"` (key →
 * string value): every crate's record, exactly as `kv push` would write it, plus the freshness key. Written to a
 * temporary file beside `outPath` and renamed over it, so a reader never sees half a file.
 */
export function exportKvStore(database: TimestampDatabase, outPath: string, policy?: Policy): KvExportSummary {
  const started = performance.now();
  const temp = join(dirname(outPath), `.${basename(outPath)}.${process.pid}.${Date.now()}.tmp`);
  const fd = openSync(temp, "w");
  let crates = 0;
  let skipped = 0;
  let bytes = 0;
  let buffer = "";
  const write = (text: string, force = false) => {
    buffer += text;
    if (buffer.length < WRITE_CHUNK && !force) return;
    const data = Buffer.from(buffer, "utf8");
    for (let offset = 0; offset < data.length; ) offset += writeSync(fd, data, offset);
    bytes += data.length;
    buffer = "";
  };
  try {
    write(`{\n${JSON.stringify(FRESHNESS_KV_KEY)}: ${JSON.stringify(encodeFreshness(readFreshness(database)))}`);
    if (policy !== undefined) write(`,\n${JSON.stringify(POLICY_KV_KEY)}: ${JSON.stringify(encodePolicy(policy))}`);
    for (const { record } of allCrateRecords(database)) {
      if (crateNameProblem(record.crate) !== null) {
        skipped++;
        continue;
      }
      write(`,\n${JSON.stringify(record.crate)}: ${JSON.stringify(encodeCrateRecord(record))}`);
      crates++;
    }
    write("\n}\n", true);
    // On disk before the rename, so a crash leaves the old file or the new one, never an empty one.
    fsyncSync(fd);
    closeSync(fd);
    renameSync(temp, outPath);
  } catch (error) {
    try {
      closeSync(fd);
    } catch {
      // Already closed: the rename failed.
    }
    rmSync(temp, { force: true });
    throw error;
  }
  return { path: outPath, crates, skipped, bytes, durationMs: performance.now() - started };
}
