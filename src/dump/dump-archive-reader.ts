import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import tar from "tar-stream";
import type { CsvColumnScanner } from "./csv-column-scanner.ts";
import type { DumpSnapshot } from "./dump-snapshot.ts";
import { DUMP_TABLES, DumpFormatError, type DumpTableName, dumpTableReader } from "./dump-table-readers.ts";

/** What was read besides the rows. */
export interface DumpArchiveInfo {
  /** The top folder, e.g. `2026-11-21-020017` (empty when files sit at the archive's root). */
  readonly folder: string;
}

/** gunzip output chunk: bigger than zlib's 16 KiB default, so the scanner and tar-stream see 16× fewer chunks. */
const GUNZIP_CHUNK = 256 * 1024;

const METADATA_PATH = "metadata.json";
/** users.csv and crate_owners.csv carry the trust signals' data: without them a dump is refused (see ingest-dump.ts). */
const REQUIRED = [
  METADATA_PATH,
  DUMP_TABLES.crates.path,
  DUMP_TABLES.versions.path,
  DUMP_TABLES.users.path,
  DUMP_TABLES.crateOwners.path,
];
const TABLE_OF_PATH = new Map<string, DumpTableName>(
  (Object.keys(DUMP_TABLES) as DumpTableName[]).map((table) => [DUMP_TABLES[table].path, table]),
);

/**
 * Reads a crates.io dump (`db-dump.tar.gz`) in one streaming pass — gunzip, tar, CSV — into `snapshot`, holding one
 * chunk at a time: the CSVs the ingest needs go through the column scanner, every other entry is drained unread.
 * Rejects with a one-line reason when the archive is truncated or corrupt, a required file or column is missing, or a
 * value cannot be read. The source is consumed (and destroyed on failure).
 */
export function readDumpArchive(
  source: Readable,
  snapshot: DumpSnapshot,
  signal?: AbortSignal,
): Promise<DumpArchiveInfo> {
  return new Promise<DumpArchiveInfo>((resolve, reject) => {
    const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK });
    const extract = tar.extract();
    const seen = new Set<string>();
    let folder: string | null = null;
    let settled = false;

    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      source.destroy();
      gunzip.destroy();
      extract.destroy();
      reject(error);
    };
    const onAbort = () => fail(new DumpFormatError("interrupted"));
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });

    source.on("error", (error) => fail(describeSourceError(error)));
    gunzip.on("error", (error) => fail(describeGzipError(error)));
    extract.on("error", (error: Error) =>
      fail(
        error instanceof DumpFormatError
          ? error
          : new DumpFormatError(`the archive is not a valid tar file (${error.message})`),
      ),
    );

    extract.on("entry", (header, stream, next) => {
      const relative = relativePath(header.name);
      if (folder === null) folder = relative.folder;
      const table = header.type === "file" ? TABLE_OF_PATH.get(relative.path) : undefined;
      const isMetadata = header.type === "file" && relative.path === METADATA_PATH;
      if (table === undefined && !isMetadata) {
        stream.on("end", next);
        stream.resume();
        return;
      }
      if (seen.has(relative.path)) return fail(new DumpFormatError(`the archive holds ${relative.path} twice`));
      seen.add(relative.path);
      if (isMetadata) {
        const parts: Buffer[] = [];
        stream.on("data", (chunk: unknown) => void parts.push(chunk as Buffer));
        stream.on("end", () => {
          try {
            snapshot.watermark = parseMetadata(Buffer.concat(parts).toString("utf8"));
            next();
          } catch (error) {
            fail(error as Error);
          }
        });
        return;
      }
      const scanner: CsvColumnScanner = dumpTableReader(table as DumpTableName, snapshot);
      const path = relative.path;
      stream.on("data", (chunk: unknown) => {
        if (settled) return;
        try {
          scanner.push(chunk as Buffer);
        } catch (error) {
          fail(inFile(path, error as Error));
        }
      });
      stream.on("end", () => {
        if (settled) return;
        try {
          scanner.end();
          next();
        } catch (error) {
          fail(inFile(path, error as Error));
        }
      });
    });

    extract.on("finish", () => {
      if (settled) return;
      const missing = REQUIRED.filter((path) => !seen.has(path));
      if (missing.length > 0) {
        return fail(
          new DumpFormatError(`the archive has no ${missing.join(", ")} (is it a crates.io db-dump.tar.gz?)`),
        );
      }
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      resolve({ folder: folder ?? "" });
    });

    source.pipe(gunzip).pipe(extract);
  });
}

/** `2026-11-21-020017/data/crates.csv` → folder `2026-11-21-020017`, path `data/crates.csv`. */
function relativePath(name: string): { folder: string; path: string } {
  const clean = name.replace(/^\.\//, "");
  const slash = clean.indexOf("/");
  if (slash === -1) return { folder: "", path: clean };
  const first = clean.slice(0, slash);
  // Only the dump's `YYYY-MM-DD-HHMMSS/` folder is stripped; `data/…` at the root stays as it is.
  if (first === "data") return { folder: "", path: clean };
  return { folder: first, path: clean.slice(slash + 1) };
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** metadata.json's `timestamp` (RFC 3339, the snapshot's start) as whole Unix seconds. */
function parseMetadata(text: string): number {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new DumpFormatError("metadata.json is not JSON");
  }
  const timestamp = (parsed as { timestamp?: unknown } | null)?.timestamp;
  if (typeof timestamp !== "string" || !RFC3339.test(timestamp) || Number.isNaN(Date.parse(timestamp))) {
    throw new DumpFormatError(
      `metadata.json has no RFC 3339 "timestamp" (found ${JSON.stringify(timestamp) ?? "nothing"})`,
    );
  }
  return Math.floor(Date.parse(timestamp) / 1000);
}

function inFile(path: string, error: Error): Error {
  if (error instanceof DumpFormatError) return error;
  if (error.name === "CsvFormatError") return new DumpFormatError(`${path} is not valid CSV: ${error.message}`);
  return error;
}

function describeGzipError(error: Error): DumpFormatError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "Z_BUF_ERROR" || /unexpected end/i.test(error.message)) {
    return new DumpFormatError("the archive ends early (truncated download?): gzip stream incomplete");
  }
  return new DumpFormatError(`the archive is not valid gzip (${error.message})`);
}

function describeSourceError(error: Error): Error {
  if (error instanceof DumpFormatError) return error;
  return new DumpFormatError(`reading the dump failed: ${error.message}`);
}
