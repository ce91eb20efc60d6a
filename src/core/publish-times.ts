import type { UnixSeconds } from "./time.ts";

/**
 * The publish times the timestamp database knows for one crate: the record both the ingest job writes (Fastly KV,
 * one key per crate) and the homes read. One codec, here, for both sides.
 */
export interface CrateRecord {
  /** Lowercased crate name, as in the index path and the KV key. */
  readonly crate: string;
  /** version (`vers` exactly, build metadata included) → publish time. */
  readonly versions: ReadonlyMap<string, UnixSeconds>;
}

/**
 * Record format, version 1: UTF-8 JSON `{"v":1,"crate":"serde","times":{"1.0.0":1494547386,…}}`, times in whole
 * Unix seconds. Readers refuse any other `v`, so a newer writer can never be half-understood by an older edge.
 */
export const RECORD_FORMAT_VERSION = 1;

export class RecordFormatError extends Error {
  override readonly name = "RecordFormatError";
}

export function encodeCrateRecord(record: CrateRecord): string {
  const times: Record<string, UnixSeconds> = {};
  for (const [version, at] of record.versions) times[version] = at;
  return JSON.stringify({ v: RECORD_FORMAT_VERSION, crate: record.crate, times });
}

export function decodeCrateRecord(text: string): CrateRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new RecordFormatError("publish-time record is not JSON");
  }
  if (typeof parsed !== "object" || parsed === null) throw new RecordFormatError("publish-time record is not an object");
  const { v, crate, times } = parsed as { v?: unknown; crate?: unknown; times?: unknown };
  if (v !== RECORD_FORMAT_VERSION) {
    throw new RecordFormatError(`publish-time record format ${JSON.stringify(v)} is not understood (this build reads ${RECORD_FORMAT_VERSION})`);
  }
  if (typeof crate !== "string") throw new RecordFormatError("publish-time record has no crate name");
  if (typeof times !== "object" || times === null || Array.isArray(times)) {
    throw new RecordFormatError(`publish-time record for ${crate} has no times`);
  }
  const versions = new Map<string, UnixSeconds>();
  for (const [version, at] of Object.entries(times)) {
    if (typeof at !== "number" || !Number.isFinite(at)) {
      throw new RecordFormatError(`publish-time record for ${crate} has a bad time for ${version}`);
    }
    versions.set(version, at);
  }
  return { crate, versions };
}
