import type { IndexLine } from "./index-file.ts";
import type { UnixSeconds } from "./time.ts";
import type { CooldownWindow } from "./window.ts";

/** Where a publish time came from, for explanations. */
export type TimeSource = "pubtime" | "database" | "pre-pubtime-inference";

export interface PublishTime {
  readonly at: UnixSeconds;
  readonly source: TimeSource;
}

/** The answer to "may cargo see this version yet?", with the reason and, when it will change, the moment. */
export type Verdict =
  | { readonly visible: true; readonly publishedAt: PublishTime }
  | { readonly visible: false; readonly reason: "too-young"; readonly publishedAt: PublishTime; readonly visibleAt: UnixSeconds }
  | { readonly visible: false; readonly reason: "yanked"; readonly publishedAt: PublishTime | null }
  | { readonly visible: false; readonly reason: "unknown-publish-time" }
  | { readonly visible: false; readonly reason: "unreadable-line" };

export type HiddenReason = Extract<Verdict, { visible: false }>["reason"];

/**
 * Rules beyond "latest known publish time + window". Each is explicit and switchable.
 *
 * `prePubtimeInference`: crates.io writes `pubtime` on every line whenever it rewrites a crate's file, and had that
 * switched on by `switchedOnBy`. A crates.io file with no `pubtime` on any line was therefore last written before that
 * moment, so every version in it is at least that old. Used only when no better time is known, and only when the home
 * says the upstream is crates.io itself.
 */
export interface VisibilityRules {
  readonly prePubtimeInference: { readonly enabled: boolean; readonly switchedOnBy: UnixSeconds };
}

/**
 * crates.io had `pubtime` in production "by about mid-January 2026" (development update of 2026-01-21); the bound is
 * taken later than that on purpose, so an inferred time is never earlier than the truth.
 */
export const CRATES_IO_PUBTIME_SWITCH_ON: UnixSeconds = Date.UTC(2026, 1, 1) / 1000;

export function defaultRules(upstreamIsCratesIo: boolean): VisibilityRules {
  return { prePubtimeInference: { enabled: upstreamIsCratesIo, switchedOnBy: CRATES_IO_PUBTIME_SWITCH_ON } };
}

/**
 * The publish time of a line: the latest of its `pubtime` and the database's time (a time never moves earlier),
 * or the inferred bound when neither is known; `null` when nothing is known (such a version stays hidden).
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

export function decideVisibility(
  line: IndexLine,
  publishedAt: PublishTime | null,
  window: CooldownWindow,
  now: UnixSeconds,
): Verdict {
  if (line.version === null) return { visible: false, reason: "unreadable-line" };
  if (line.yanked) return { visible: false, reason: "yanked", publishedAt };
  if (publishedAt === null) return { visible: false, reason: "unknown-publish-time" };
  const visibleAt = publishedAt.at + window.seconds;
  if (now < visibleAt) return { visible: false, reason: "too-young", publishedAt, visibleAt };
  return { visible: true, publishedAt };
}
