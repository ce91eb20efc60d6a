import type { UnixSeconds } from "./time.ts";
import { MAX_WINDOW_DAYS } from "./window.ts";

/**
 * Trust signals: releases that look like a takeover wait longer than the window. Three signals, each computed per
 * version of a crates.io crate from who published it and who owns the crate (the ingest job computes them; the
 * record carries them; the filter only applies the policy's extra waits):
 * - new publisher: the account that published this version published no earlier version of the crate (which had
 *   at least one release by a known account); the crate's first version is exempt.
 * - trusted-publishing downgrade: the latest earlier release was published through trusted publishing, this one
 *   with an account's token.
 * - recent owner: an owner added after the crate's first release, in the 30 days before this version was published.
 */
export type TrustSignal =
  | {
      readonly signal: "new-publisher";
      /** The account's login. */
      readonly by: string;
      /** Logins of the accounts that published earlier versions (at most `EARLIER_PUBLISHERS_LISTED`). */
      readonly earlier: readonly string[];
      /** How many distinct accounts published earlier versions (may exceed `earlier.length`). */
      readonly earlierCount: number;
    }
  | {
      readonly signal: "trusted-publishing-downgrade";
      readonly by: string;
      /** The latest earlier release, published through trusted publishing. */
      readonly previous: string;
      /** Where that release was published from (`github: owner/repo`), when known. */
      readonly via: string | null;
    }
  | {
      readonly signal: "recent-owner";
      readonly owner: string;
      readonly addedAt: UnixSeconds;
    };

export type TrustSignalName = TrustSignal["signal"];

export const TRUST_SIGNAL_NAMES: readonly TrustSignalName[] = [
  "new-publisher",
  "trusted-publishing-downgrade",
  "recent-owner",
];

/**
 * What a crate's record says about trust. A version listed in the record's times and in neither field is known to
 * carry no signal; a version in `unknown`, or missing from the record altogether, is not known yet.
 */
export interface CrateTrust {
  readonly unknown: ReadonlySet<string>;
  readonly signals: ReadonlyMap<string, readonly TrustSignal[]>;
}

/** How a version reached crates.io, as far as the job knows. */
export type PublishVia =
  /** With an account's API token: `publisherId` and `publisher` are set. */
  | "token"
  /** Through trusted publishing (no account involved). */
  | "trusted-publishing"
  /** Recorded with no account and before trusted publishing existed (crates.io's oldest versions). */
  | "no-account"
  /** Not learned yet. */
  | null;

/** One version of a crate as the timestamp database holds it, for `computeCrateTrust`. */
export interface VersionProvenance {
  readonly version: string;
  readonly publishedAt: UnixSeconds;
  readonly via: PublishVia;
  readonly publisherId: number | null;
  readonly publisher: string | null;
  /** For trusted publishing, where from (`github: owner/repo`), when known. */
  readonly trustedSource: string | null;
}

export interface CrateOwnerAddition {
  readonly owner: string;
  readonly addedAt: UnixSeconds;
}

/** The window in which an owner addition marks a release: 30 days before it. */
export const RECENT_OWNER_SPAN: UnixSeconds = 30 * 86_400;
/** The longest extra wait a policy may give a signal. */
export const MAX_TRUST_EXTRA_WAIT: UnixSeconds = 90 * 86_400;
/**
 * A version published longer ago than the longest window plus the longest extra wait is visible whatever its signals
 * say, so records leave such versions out of their trust section: most of a crate's versions, and the bytes and work
 * they would cost every request.
 */
export const TRUST_RELEVANCE: UnixSeconds = MAX_WINDOW_DAYS * 86_400 + MAX_TRUST_EXTRA_WAIT;
/** Evidence lists at most this many earlier publishers, so a record stays small for crates with many. */
export const EARLIER_PUBLISHERS_LISTED = 3;

/**
 * The signals of every version of one crate. `owners` are the crate's current owners with the time each was added;
 * `null` when the job has not learned them (then only versions that need no owner data are known: the first).
 * Versions are ordered by publish time (ties keep the given order); "earlier" means published before. Versions
 * published before `relevantSince` count as history but get no entry (see `TRUST_RELEVANCE`).
 */
export function computeCrateTrust(
  versions: readonly VersionProvenance[],
  owners: readonly CrateOwnerAddition[] | null,
  relevantSince: UnixSeconds = Number.NEGATIVE_INFINITY,
): CrateTrust {
  const ordered = versions
    .map((entry, index) => ({ entry, index }))
    .sort((a, b) => a.entry.publishedAt - b.entry.publishedAt || a.index - b.index)
    .map(({ entry }) => entry);
  const unknown = new Set<string>();
  const signals = new Map<string, TrustSignal[]>();
  const first = ordered[0];
  if (first === undefined) return { unknown, signals };
  const firstReleaseAt = first.publishedAt;
  const laterOwners = owners?.filter((o) => o.addedAt > firstReleaseAt) ?? null;
  // Distinct earlier publishers, in the order they first published; whether any earlier version is not known.
  const earlierPublishers = new Map<number, string>();
  let earlierUnknown = false;
  let previous: VersionProvenance | null = null;
  for (const entry of ordered) {
    if (previous === null) {
      // The first version is exempt from every signal: new crates are what the window itself is for.
      previous = entry;
      record(entry);
      continue;
    }
    const found: TrustSignal[] = [];
    let undecided = entry.via === null || laterOwners === null;
    if (entry.via === "token" && entry.publisher !== null && entry.publisherId !== null) {
      if (earlierUnknown) undecided = true;
      else if (earlierPublishers.size > 0 && !earlierPublishers.has(entry.publisherId)) {
        const names = [...earlierPublishers.values()];
        found.push({
          signal: "new-publisher",
          by: entry.publisher,
          earlier: names.slice(0, EARLIER_PUBLISHERS_LISTED),
          earlierCount: names.length,
        });
      }
      if (previous.via === null) undecided = true;
      else if (previous.via === "trusted-publishing") {
        found.push({
          signal: "trusted-publishing-downgrade",
          by: entry.publisher,
          previous: previous.version,
          via: previous.trustedSource,
        });
      }
    }
    if (laterOwners !== null) {
      for (const owner of laterOwners) {
        if (owner.addedAt <= entry.publishedAt && owner.addedAt > entry.publishedAt - RECENT_OWNER_SPAN)
          found.push({ signal: "recent-owner", owner: owner.owner, addedAt: owner.addedAt });
      }
    }
    if (entry.publishedAt < relevantSince) {
      // Visible under any window and policy by now: nothing to record.
    } else if (undecided) unknown.add(entry.version);
    else if (found.length > 0) signals.set(entry.version, found);
    previous = entry;
    record(entry);
  }
  return { unknown, signals };

  function record(entry: VersionProvenance): void {
    if (entry.via === null) earlierUnknown = true;
    else if (entry.via === "token" && entry.publisherId !== null && !earlierPublishers.has(entry.publisherId))
      earlierPublishers.set(entry.publisherId, entry.publisher ?? `#${entry.publisherId}`);
  }
}

/** What the policy's `[trust]` table sets: an extra wait per signal (0 = off), and what unknown data does. */
export interface TrustRules {
  /** False when the upstream is not crates.io: other registries publish no such data, so no signal applies. */
  readonly enabled: boolean;
  readonly extraWait: Readonly<Record<TrustSignalName, UnixSeconds>>;
  /** `hide` (fail closed): a version whose trust data is unknown stays hidden once it would otherwise be visible. */
  readonly unknownData: "hide" | "ignore";
}

export const DEFAULT_TRUST_EXTRA_WAIT: Readonly<Record<TrustSignalName, UnixSeconds>> = {
  "new-publisher": 7 * 86_400,
  "trusted-publishing-downgrade": 14 * 86_400,
  "recent-owner": 7 * 86_400,
};

export function defaultTrustRules(upstreamIsCratesIo: boolean): TrustRules {
  return { enabled: upstreamIsCratesIo, extraWait: DEFAULT_TRUST_EXTRA_WAIT, unknownData: "hide" };
}

/** What trust adds to one version's wait. */
export type TrustHold =
  /** Nothing: no signal with a wait, signals off, or no trust data for the crate at all. */
  | null
  | { readonly kind: "signals"; readonly extra: UnixSeconds; readonly signals: readonly TrustSignal[] }
  | { readonly kind: "unknown" };

/**
 * The extra wait for `version`: the longest of its signals' waits. `trust` is the record's trust section (`null`
 * when the crate's record carries none: the database has no trust data, so no signal is checked); `inRecord` says
 * whether the record lists the version's time (a version the database has never seen has unknown trust data).
 */
export function trustHoldFor(
  version: string,
  trust: CrateTrust | null,
  inRecord: boolean,
  rules: TrustRules,
): TrustHold {
  if (!rules.enabled || trust === null) return null;
  if (!inRecord || trust.unknown.has(version)) return rules.unknownData === "hide" ? UNKNOWN : null;
  const signals = trust.signals.get(version);
  if (signals === undefined) return null;
  let extra = 0;
  const applying: TrustSignal[] = [];
  for (const signal of signals) {
    const wait = rules.extraWait[signal.signal];
    if (wait <= 0) continue;
    applying.push(signal);
    if (wait > extra) extra = wait;
  }
  return extra === 0 ? null : { kind: "signals", extra, signals: applying };
}

const UNKNOWN: TrustHold = { kind: "unknown" };

/** One signal's evidence, e.g. `first release by @eve (earlier releases by @alice, @bob)`. */
export function describeTrustSignal(signal: TrustSignal, formatTime: (at: UnixSeconds) => string): string {
  switch (signal.signal) {
    case "new-publisher": {
      const more = signal.earlierCount - signal.earlier.length;
      const earlier = signal.earlier.map((login) => `@${login}`).join(", ") + (more > 0 ? ` and ${more} more` : "");
      return `first release by @${signal.by} (earlier releases by ${earlier})`;
    }
    case "trusted-publishing-downgrade":
      return `published with a token by @${signal.by}; ${signal.previous} used trusted publishing${signal.via === null ? "" : ` (${signal.via})`}`;
    case "recent-owner":
      return `owner ${signal.owner.includes(":") ? signal.owner : `@${signal.owner}`} added ${formatTime(signal.addedAt)}, after the first release`;
  }
}

// --- The record's trust section (see publish-times.ts) ---

/** `{"unknown":[…],"signals":{"1.2.0":[…]}}`: compact, and only versions that are unknown or carry a signal. */
export function encodeCrateTrust(trust: CrateTrust): Record<string, unknown> {
  const signals: Record<string, unknown[]> = {};
  for (const [version, list] of trust.signals) {
    signals[version] = list.map(encodeSignal);
  }
  return { unknown: [...trust.unknown], signals };
}

function encodeSignal(s: TrustSignal): Record<string, unknown> {
  if (s.signal === "new-publisher") return { s: s.signal, by: s.by, earlier: s.earlier, n: s.earlierCount };
  if (s.signal === "trusted-publishing-downgrade") return { s: s.signal, by: s.by, previous: s.previous, via: s.via };
  return { s: s.signal, owner: s.owner, added: s.addedAt };
}

/** Reads the trust section back; throws a plain Error naming what is malformed (the codec words it for its crate). */
export function decodeCrateTrust(value: unknown): CrateTrust {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("trust is not an object");
  const { unknown, signals } = value as { unknown?: unknown; signals?: unknown };
  if (!Array.isArray(unknown) || !unknown.every((v) => typeof v === "string"))
    throw new Error("trust.unknown is not a list of versions");
  if (typeof signals !== "object" || signals === null || Array.isArray(signals))
    throw new Error("trust.signals is not an object");
  const decoded = new Map<string, TrustSignal[]>();
  for (const [version, list] of Object.entries(signals)) {
    if (!Array.isArray(list)) throw new Error(`trust.signals for ${version} is not a list`);
    decoded.set(version, list.map(decodeSignal));
  }
  return { unknown: new Set(unknown as string[]), signals: decoded };
}

function decodeSignal(entry: unknown): TrustSignal {
  const e = (entry ?? {}) as Record<string, unknown>;
  const text = (v: unknown) => typeof v === "string";
  switch (e.s) {
    case "new-publisher":
      if (text(e.by) && Array.isArray(e.earlier) && e.earlier.every(text) && typeof e.n === "number")
        return { signal: e.s, by: e.by as string, earlier: e.earlier as string[], earlierCount: e.n };
      break;
    case "trusted-publishing-downgrade":
      if (text(e.by) && text(e.previous) && (e.via === null || text(e.via)))
        return { signal: e.s, by: e.by as string, previous: e.previous as string, via: e.via as string | null };
      break;
    case "recent-owner":
      if (text(e.owner) && typeof e.added === "number")
        return { signal: e.s, owner: e.owner as string, addedAt: e.added };
      break;
  }
  throw new Error(`malformed trust signal ${JSON.stringify(entry)}`);
}
