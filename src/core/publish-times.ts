import type { SecurityAdvisory } from "./security-fixes.ts";
import type { UnixSeconds } from "./time.ts";

/**
 * What the timestamp database knows about one crate: publish times, and the RustSec advisories whose fixes may be
 * admitted early. The record both the ingest job writes (Fastly KV, one key per crate) and the homes read. One
 * codec, here, for both sides.
 */
export interface CrateRecord {
  /** Lowercased crate name, as in the index path and the KV key. */
  readonly crate: string;
  /** version (`vers` exactly, build metadata included) → publish time. */
  readonly versions: ReadonlyMap<string, UnixSeconds>;
  /** Advisories for this crate that are not withdrawn; absent or empty when there are none. */
  readonly advisories?: readonly SecurityAdvisory[];
}

/**
 * Record format (UTF-8 JSON, times in whole Unix seconds):
 * - version 1: `{"v":1,"crate":"serde","times":{"1.0.0":1494547386,…}}`
 * - version 2: version 1 plus `"advisories":[{"id":"RUSTSEC-2026-0001","patched":[">= 0.23.18"]}]`
 * Writers write version 1 when a crate has no advisories, so edges built before version 2 keep reading most records.
 * Readers refuse any other `v`: a newer writer is never half-understood.
 */
export const RECORD_FORMAT_VERSIONS = [1, 2] as const;

export class RecordFormatError extends Error {
  override readonly name = "RecordFormatError";
}

export function encodeCrateRecord(record: CrateRecord): string {
  const times: Record<string, UnixSeconds> = {};
  for (const [version, at] of record.versions) times[version] = at;
  const advisories = record.advisories ?? [];
  if (advisories.length === 0) return JSON.stringify({ v: 1, crate: record.crate, times });
  return JSON.stringify({
    v: 2,
    crate: record.crate,
    times,
    advisories: advisories.map(({ id, patched }) => ({ id, patched })),
  });
}

export function decodeCrateRecord(text: string): CrateRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new RecordFormatError("publish-time record is not JSON");
  }
  if (typeof parsed !== "object" || parsed === null)
    throw new RecordFormatError("publish-time record is not an object");
  const { v, crate, times, advisories } = parsed as {
    v?: unknown;
    crate?: unknown;
    times?: unknown;
    advisories?: unknown;
  };
  if (v !== 1 && v !== 2) {
    throw new RecordFormatError(
      `publish-time record format ${JSON.stringify(v)} is not understood (this build reads ${RECORD_FORMAT_VERSIONS.join(" and ")})`,
    );
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
  if (v === 1) return { crate, versions };
  return { crate, versions, advisories: decodeAdvisories(crate, advisories) };
}

function decodeAdvisories(crate: string, value: unknown): SecurityAdvisory[] {
  if (!Array.isArray(value)) throw new RecordFormatError(`publish-time record for ${crate} has no advisories list`);
  return value.map((entry: unknown) => {
    const { id, patched } = (entry ?? {}) as { id?: unknown; patched?: unknown };
    if (typeof id !== "string" || !Array.isArray(patched) || !patched.every((p) => typeof p === "string")) {
      throw new RecordFormatError(`publish-time record for ${crate} has a malformed advisory`);
    }
    return { id, patched: patched as string[] };
  });
}
