import type { IndexLine } from "./index-file.ts";
import type { UnixSeconds } from "./time.ts";
import { defaultTrustRules, type TrustHold, type TrustRules, type TrustSignal } from "./trust-signals.ts";
import type { CooldownWindow } from "./window.ts";

/** Where a publish time came from, for explanations. */
export type TimeSource = "pubtime" | "database" | "pre-pubtime-inference";

export interface PublishTime {
  readonly at: UnixSeconds;
  readonly source: TimeSource;
}

/** An operator's decision to let one exact version through every window until it expires. */
export interface VersionException {
  /** Lowercased crate name. */
  readonly crate: string;
  readonly version: string;
  readonly reason: string;
  readonly expires: UnixSeconds;
}

/** Why a version is visible (or hidden for less time) beyond its age: an exception, or a security fix's admission. */
export type Grant =
  | { readonly kind: "exception"; readonly reason: string; readonly expires: UnixSeconds }
  | { readonly kind: "security-fix"; readonly advisory: string; readonly floor: UnixSeconds }
  | { readonly kind: "unknown-publish-time-shown" };

/** The answer to "may cargo see this version yet?", with the reason and, when it will change, the moment. */
export type Verdict =
  | {
      readonly visible: true;
      /** `null` only when a grant shows a version of unknown age. */
      readonly publishedAt: PublishTime | null;
      /** What made it visible besides age; `null` when its age alone did. */
      readonly grant: Grant | null;
      /** Trust signals it waited out (its age passed the window and their extra wait), if any. */
      readonly trust?: TrustExtension;
    }
  | {
      readonly visible: false;
      readonly reason: "too-young";
      readonly publishedAt: PublishTime;
      readonly visibleAt: UnixSeconds;
      /** A security-fix admission that shortened the wait, if any. */
      readonly grant: Grant | null;
      /** Trust signals that lengthen the wait (`visibleAt` includes their extra wait), if any. */
      readonly trust?: TrustExtension;
    }
  | {
      readonly visible: false;
      /** Old enough for the window, held back by trust signals until `visibleAt`. */
      readonly reason: "trust-signal";
      readonly publishedAt: PublishTime;
      readonly visibleAt: UnixSeconds;
      readonly trust: TrustExtension;
    }
  | {
      readonly visible: false;
      /** Old enough for the window, but whether a trust signal applies is not known yet (fail closed). */
      readonly reason: "trust-data-unknown";
      readonly publishedAt: PublishTime;
    }
  | { readonly visible: false; readonly reason: "yanked"; readonly publishedAt: PublishTime | null }
  | { readonly visible: false; readonly reason: "unknown-publish-time" }
  | { readonly visible: false; readonly reason: "unreadable-line" };

export type HiddenReason = Extract<Verdict, { visible: false }>["reason"];

/** The trust signals holding a version back, and how much longer than the window they make it wait. */
export interface TrustExtension {
  readonly extra: UnixSeconds;
  readonly signals: readonly TrustSignal[];
}

/**
 * Every rule beyond "latest known publish time + window". Each is explicit and switchable.
 *
 * `prePubtimeInference`: crates.io writes `pubtime` on every line whenever it rewrites a crate's file, and had that
 * switched on by `switchedOnBy`. A crates.io file with no `pubtime` on any line was therefore last written before that
 * moment, so every version in it is at least that old. Used only when no better time is known, and only when the home
 * says the upstream is crates.io itself.
 * `yanked`: `hide` drops yanked lines (the default); `keep` passes them on, decided by age, for cargo's own handling.
 * `unknownPublishTime`: `hide` (the default, fail closed) or `show`.
 * `exceptions`: exact versions let through every window until they expire.
 * `securityFixes`: the lowest non-yanked version in each `patched` range of a RustSec advisory waits only `floor`.
 * `trust`: extra waits for releases with trust signals (trust-signals.ts); only for crates.io.
 */
export interface VisibilityRules {
  readonly prePubtimeInference: { readonly enabled: boolean; readonly switchedOnBy: UnixSeconds };
  readonly yanked: "hide" | "keep";
  readonly unknownPublishTime: "hide" | "show";
  readonly exceptions: readonly VersionException[];
  readonly securityFixes: { readonly enabled: boolean; readonly floor: UnixSeconds };
  readonly trust: TrustRules;
}

/**
 * crates.io had `pubtime` in production "by about mid-January 2026" (development update of 2026-01-21); the bound is
 * taken later than that on purpose, so an inferred time is never earlier than the truth.
 */
export const CRATES_IO_PUBTIME_SWITCH_ON: UnixSeconds = Date.UTC(2026, 1, 1) / 1000;

/** How long an admitted security fix waits by default: long enough for an obviously bad "fix" to be pulled. */
export const DEFAULT_SECURITY_FIX_FLOOR: UnixSeconds = 3_600;

/** `inferPrePubtime` defaults to whether the upstream is crates.io, the only index known to need it. */
export function defaultRules(upstreamIsCratesIo: boolean, inferPrePubtime = upstreamIsCratesIo): VisibilityRules {
  return {
    prePubtimeInference: { enabled: inferPrePubtime, switchedOnBy: CRATES_IO_PUBTIME_SWITCH_ON },
    yanked: "hide",
    unknownPublishTime: "hide",
    exceptions: [],
    securityFixes: { enabled: true, floor: DEFAULT_SECURITY_FIX_FLOOR },
    trust: defaultTrustRules(upstreamIsCratesIo),
  };
}

/**
 * The publish time of a line: the latest of its `pubtime` and the database's time (a time never moves earlier),
 * or the inferred bound when neither is known; `null` when nothing is known.
 */
export function resolvePublishTime(
  line: IndexLine,
  stored: UnixSeconds | undefined,
  inferredBound: UnixSeconds | null,
): PublishTime | null {
  if (line.pubtime !== null && (stored === undefined || line.pubtime >= stored)) {
    return { at: line.pubtime, source: "pubtime" };
  }
  if (stored !== undefined) return { at: stored, source: "database" };
  if (inferredBound !== null) return { at: inferredBound, source: "pre-pubtime-inference" };
  return null;
}

/** What applies to one line besides its age. */
export interface LineGrants {
  /** An exception for this exact version, if one is in force now. */
  readonly exception?: VersionException;
  /** The advisory whose fix this version is, when security-fix admission picked it. */
  readonly securityFix?: { readonly advisory: string; readonly floor: UnixSeconds };
}

/**
 * The decision, in order: unreadable lines are hidden; yanked lines are hidden under `yanked = "hide"`; an exception
 * in force shows the version; unknown age hides it (or shows it under `unknown-publish-time = "show"`); otherwise age
 * decides, against the window or, for an admitted security fix, the shorter floor. Trust signals (`trust`, from
 * `trustHoldFor`) add their extra wait on top of the window; unknown trust data hides a version the window would show.
 * An admitted security fix waits only its floor: the advisory vouches for that exact version.
 */
export function decideVisibility(
  line: IndexLine,
  publishedAt: PublishTime | null,
  window: CooldownWindow,
  now: UnixSeconds,
  rules: Pick<VisibilityRules, "yanked" | "unknownPublishTime">,
  grants: LineGrants = {},
  trust: TrustHold = null,
): Verdict {
  if (line.version === null) return { visible: false, reason: "unreadable-line" };
  if (line.yanked && rules.yanked === "hide") return { visible: false, reason: "yanked", publishedAt };
  const exception = grants.exception;
  if (exception !== undefined && now < exception.expires) {
    return {
      visible: true,
      publishedAt,
      grant: { kind: "exception", reason: exception.reason, expires: exception.expires },
    };
  }
  if (publishedAt === null) {
    if (rules.unknownPublishTime === "show")
      return { visible: true, publishedAt: null, grant: { kind: "unknown-publish-time-shown" } };
    return { visible: false, reason: "unknown-publish-time" };
  }
  const fix = grants.securityFix;
  const wait = fix !== undefined && fix.floor < window.seconds ? fix.floor : window.seconds;
  const grant: Grant | null =
    wait < window.seconds && fix !== undefined
      ? { kind: "security-fix", advisory: fix.advisory, floor: fix.floor }
      : null;
  if (trust !== null && fix === undefined) {
    const windowEnds = publishedAt.at + wait;
    if (trust.kind === "unknown") {
      if (now < windowEnds) return { visible: false, reason: "too-young", publishedAt, visibleAt: windowEnds, grant };
      return { visible: false, reason: "trust-data-unknown", publishedAt };
    }
    const extension: TrustExtension = { extra: trust.extra, signals: trust.signals };
    const visibleAt = windowEnds + trust.extra;
    if (now < windowEnds)
      return { visible: false, reason: "too-young", publishedAt, visibleAt, grant, trust: extension };
    if (now < visibleAt) return { visible: false, reason: "trust-signal", publishedAt, visibleAt, trust: extension };
    return { visible: true, publishedAt, grant: null, trust: extension };
  }
  const visibleAt = publishedAt.at + wait;
  if (now < visibleAt) return { visible: false, reason: "too-young", publishedAt, visibleAt, grant };
  return { visible: true, publishedAt, grant: now < publishedAt.at + window.seconds ? grant : null };
}
