import type { SecurityAdvisory } from "./security-fixes.ts";
import type { UnixSeconds } from "./time.ts";
import { type CrateTrust, decodeCrateTrust, encodeCrateTrust } from "./trust-signals.ts";

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
  /**
   * Trust signals and versions whose trust data is not known yet (trust-signals.ts); absent when the database holds
   * no trust data, and then no signal is checked for this crate.
   */
  readonly trust?: CrateTrust;
}

/**
 * Record format (UTF-8 JSON, times in whole Unix seconds):
 * - version 1: `{"v":1,"crate":"serde","times":{"1.0.0":1494547386,…}}`
 * - version 2: version 1 plus `"advisories":[{"id":"RUSTSEC-2026-0001","patched":[">= 0.23.18"]}]`
 * - version 3: version 2 (advisories optional) plus
 *   `"trust":{"unknown":["1.4.0"],"signals":{"1.3.0":[{"s":"new-publisher","by":"eve","earlier":["alice"],"n":1}]}}`
 * Writers write the lowest version that holds the record (1 without advisories and trust, 2 with advisories only), so
 * edges built before a version keep reading the records that do not need it. Readers refuse any other `v`: a newer
 * writer is never half-understood.
 */
export const RECORD_FORMAT_VERSIONS = [1, 2, 3] as const;

export class RecordFormatError extends Error {
  override readonly name = "RecordFormatError";
}

export function encodeCrateRecord(record: CrateRecord): string {
  const times: Record<string, UnixSeconds> = {};
  for (const [version, at] of record.versions) times[version] = at;
  const advisories = record.advisories ?? [];
  if (record.trust !== undefined) {
    return JSON.stringify({
      v: 3,
      crate: record.crate,
      times,
      ...(advisories.length === 0 ? {} : { advisories: advisories.map(({ id, patched }) => ({ id, patched })) }),
      trust: encodeCrateTrust(record.trust),
    });
  }
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
  const { v, crate, times, advisories, trust } = parsed as {
    v?: unknown;
    crate?: unknown;
    times?: unknown;
    advisories?: unknown;
    trust?: unknown;
  };
  if (v !== 1 && v !== 2 && v !== 3) {
    throw new RecordFormatError(
      `publish-time record format ${JSON.stringify(v)} is not understood (this build reads ${RECORD_FORMAT_VERSIONS.join(", ")})`,
    );
  }
  if (typeof crate !== "string") throw new RecordFormatError("publish-time record has no crate name");
  if (typeof times !== "object" || times === null || Array.isArray(times)) {
    throw new RecordFormatError(`publish-time record for ${crate} has no times`);
  }
  const versions = timesOf(crate, times as Record<string, unknown>);
  if (v === 1) return { crate, versions };
  if (v === 2) return { crate, versions, advisories: decodeAdvisories(crate, advisories) };
  let decodedTrust: CrateTrust;
  try {
    decodedTrust = decodeCrateTrust(trust);
  } catch (error) {
    throw new RecordFormatError(`publish-time record for ${crate}: ${(error as Error).message}`);
  }
  return advisories === undefined
    ? { crate, versions, trust: decodedTrust }
    : { crate, versions, advisories: decodeAdvisories(crate, advisories), trust: decodedTrust };
}

/** Every value of a JSON array of finite numbers, as JSON.stringify writes them (non-finite ones become `null`). */
const FINITE_NUMBERS = /^\[(?:-?\d[\d.e+-]*(?:,-?\d[\d.e+-]*)*)?\]$/;

/**
 * The record's times, checked and wrapped, not copied. Per request the edge decodes the record of the crate asked for,
 * and the biggest crates have thousands of versions: a Map built entry by entry cost ~25 ms for 4,000 of them in the
 * Compute engine (interpreted), while checking every value with two native calls (JSON.stringify of the values, one
 * regular expression over that short text) and reading the parsed object in place cost well under one.
 */
function timesOf(crate: string, times: Record<string, unknown>): ReadonlyMap<string, UnixSeconds> {
  if (!FINITE_NUMBERS.test(JSON.stringify(Object.values(times)))) {
    for (const [version, at] of Object.entries(times)) {
      if (typeof at !== "number" || !Number.isFinite(at))
        throw new RecordFormatError(`publish-time record for ${crate} has a bad time for ${version}`);
    }
  }
  // No prototype: a version named like an Object.prototype member ("constructor") reads as absent, not as a function.
  return new ParsedTimes(Object.setPrototypeOf(times, null) as Record<string, UnixSeconds>);
}

/**
 * The parsed object behind a decoded record's times, for a loop over every line of a file: there a `get` call per
 * version cost ~1 µs in the Compute engine (4,000 lines: 8.8 against 5.1 ms read in place, measured there). Null for
 * any other map (the Node home's), which is read with `get`.
 */
export function timesInPlace(times: ReadonlyMap<string, UnixSeconds>): Readonly<Record<string, UnixSeconds>> | null {
  return times instanceof ParsedTimes ? times.times : null;
}

/** A read-only map over a parsed JSON object of version → time (no prototype, every value checked). */
class ParsedTimes implements ReadonlyMap<string, UnixSeconds> {
  constructor(readonly times: Readonly<Record<string, UnixSeconds>>) {}
  get(version: string): UnixSeconds | undefined {
    return this.times[version];
  }
  has(version: string): boolean {
    return this.times[version] !== undefined;
  }
  get size(): number {
    return Object.keys(this.times).length;
  }
  forEach(callback: (at: UnixSeconds, version: string, map: ReadonlyMap<string, UnixSeconds>) => void): void {
    for (const [version, at] of this.entries()) callback(at, version, this);
  }
  *entries(): MapIterator<[string, UnixSeconds]> {
    for (const version of Object.keys(this.times)) yield [version, this.times[version] as UnixSeconds];
  }
  *keys(): MapIterator<string> {
    yield* Object.keys(this.times);
  }
  *values(): MapIterator<UnixSeconds> {
    for (const version of Object.keys(this.times)) yield this.times[version] as UnixSeconds;
  }
  [Symbol.iterator](): MapIterator<[string, UnixSeconds]> {
    return this.entries();
  }
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
