import fc from "fast-check";
import type { VersionException } from "../../src/core/policy.ts";
import { type CrateRecord, decodeCrateRecord, encodeCrateRecord } from "../../src/core/publish-times.ts";
import type { SecurityAdvisory } from "../../src/core/security-fixes.ts";
import type { CrateTrust, TrustSignal } from "../../src/core/trust-signals.ts";

/**
 * Generators of the rules' inputs for property tests of the filter: a crate's trust data and the policy's exceptions,
 * over a given set of versions (of the crate "demo"; exceptions also name "other") around a moment `now`.
 */

const DAY = 86_400;

/** Trust data as a record carries it, or none (the database holds no trust data). */
export interface GeneratedTrust {
  readonly unknown: readonly string[];
  readonly signals: Readonly<Record<string, readonly TrustSignal[]>>;
}

export function trustArbitrary(versions: readonly string[], now: number): fc.Arbitrary<GeneratedTrust | null> {
  const signal = fc.constantFrom<TrustSignal>(
    { signal: "new-publisher", by: "eve", earlier: ["alice"], earlierCount: 1 },
    { signal: "trusted-publishing-downgrade", by: "eve", previous: "1.0.0", via: null },
    { signal: "recent-owner", owner: "mallory", addedAt: now - 10 * DAY },
  );
  return fc.option(
    fc.record({
      unknown: fc.uniqueArray(fc.constantFrom(...versions), { maxLength: 3 }),
      signals: fc.dictionary(fc.constantFrom(...versions), fc.array(signal, { minLength: 1, maxLength: 2 })),
    }),
    { freq: 2 },
  );
}

/** Exceptions for "demo" or "other", in force or expired. */
export function exceptionsArbitrary(versions: readonly string[], now: number): fc.Arbitrary<VersionException[]> {
  return fc.array(
    fc.record({
      crate: fc.constantFrom("demo", "other"),
      version: fc.constantFrom(...versions),
      reason: fc.constant("audited"),
      expires: fc.integer({ min: now - DAY, max: now + 10 * DAY }),
    }),
    { maxLength: 2 },
  );
}

/** The record's trust section for generated trust data. */
export function crateTrustOf(trust: GeneratedTrust): CrateTrust {
  return { unknown: new Set(trust.unknown), signals: new Map(Object.entries(trust.signals)) };
}

/**
 * The record of "demo" for generated times, advisories and trust data: as the edge reads it (encoded, then decoded:
 * times read in place) when `decoded`, else as the Node home builds it.
 */
export function generatedRecord(
  versions: Iterable<readonly [string, number]>,
  advisories: readonly SecurityAdvisory[] | null,
  trust: GeneratedTrust | null,
  decoded: boolean,
): CrateRecord {
  const built: CrateRecord = {
    crate: "demo",
    versions: new Map(versions),
    ...(advisories === null ? {} : { advisories }),
    ...(trust === null ? {} : { trust: crateTrustOf(trust) }),
  };
  return decoded ? decodeCrateRecord(encodeCrateRecord(built)) : built;
}
