import type { IndexLine, ScannedIndexFile } from "./index-file.ts";
import {
  decideVisibility,
  type Grant,
  type HiddenReason,
  type LineGrants,
  resolvePublishTime,
  type Verdict,
  type VersionException,
  type VisibilityRules,
} from "./policy.ts";
import type { CrateRecord } from "./publish-times.ts";
import { admittedFixes } from "./security-fixes.ts";
import type { UnixSeconds } from "./time.ts";
import { trustHoldFor } from "./trust-signals.ts";
import type { CooldownWindow } from "./window.ts";

/** Every line's verdict, and the body cargo gets: the visible lines, byte for byte, in upstream order. */
export interface FilteredIndexFile {
  readonly verdicts: readonly Verdict[];
  /** The kept lines as text, joined on first use (the proxy sends bytes and usually never needs it). */
  readonly body: string;
  /** True when no line was dropped (the body is the upstream text itself). */
  readonly unchanged: boolean;
  readonly kept: number;
  readonly hidden: Readonly<Record<HiddenReason, number>>;
  /** Of the kept lines, those a grant showed, by kind (the others are old enough); counted while deciding. */
  readonly keptBy: Readonly<Record<Grant["kind"], number>>;
  /** The earliest moment a hidden version becomes visible by age alone, if any will. */
  readonly nextVisibleAt: UnixSeconds | null;
  /** The earliest moment the visible set changes by itself: a version matures or an exception showing one expires. */
  readonly nextChangeAt: UnixSeconds | null;
  /** Readable lines whose publish time is unknown, hidden or shown: the database may learn their time any minute. */
  readonly unknownAges: number;
}

/** Whether the timestamp store must be asked before `filterIndexFile` can decide this file. */
export function needsPublishTimes(file: ScannedIndexFile, rules: VisibilityRules): boolean {
  // Admissions and trust signals live in the store's record, so with either on every file needs it.
  return file.linesWithoutPubtime > 0 || rules.securityFixes.enabled || rules.trust.enabled;
}

/**
 * Decides every line of one index file. This is the one place the rules are applied: the proxy, the explain route
 * and the lockfile check all call it.
 */
export function filterIndexFile(
  crate: string,
  file: ScannedIndexFile,
  record: CrateRecord | null,
  window: CooldownWindow,
  now: UnixSeconds,
  rules: VisibilityRules,
): FilteredIndexFile {
  const inference = rules.prePubtimeInference;
  const inferredBound = inference.enabled && file.linesWithPubtimeKey === 0 ? inference.switchedOnBy : null;
  const exceptions = exceptionsFor(crate, rules.exceptions);
  const fixes =
    rules.securityFixes.enabled && record?.advisories !== undefined
      ? admittedFixes(file.lines, record.advisories)
      : null;
  const hidden: Record<HiddenReason, number> = {
    "too-young": 0,
    yanked: 0,
    "unknown-publish-time": 0,
    "unreadable-line": 0,
    "trust-signal": 0,
    "trust-data-unknown": 0,
  };
  const trust = rules.trust.enabled ? (record?.trust ?? null) : null;
  const verdicts: Verdict[] = [];
  let kept = 0;
  const keptBy: Record<Grant["kind"], number> = { exception: 0, "security-fix": 0, "unknown-publish-time-shown": 0 };
  let nextVisibleAt: UnixSeconds | null = null;
  let nextChangeAt: UnixSeconds | null = null;
  let unknownAges = 0;
  const lines = file.lines;
  // A plain loop with no closures: this runs for every line of every file served.
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] as IndexLine;
    const stored = record !== null && line.version !== null ? record.versions.get(line.version) : undefined;
    const exception = line.version !== null ? exceptions?.get(line.version) : undefined;
    const advisory = fixes?.get(index);
    // Most lines have no grant: one shared empty object instead of one per line.
    const grants: LineGrants =
      exception === undefined && advisory === undefined
        ? NO_GRANTS
        : {
            ...(exception === undefined ? {} : { exception }),
            ...(advisory === undefined ? {} : { securityFix: { advisory, floor: rules.securityFixes.floor } }),
          };
    const publishedAt = resolvePublishTime(line, stored, inferredBound);
    if (publishedAt === null && line.version !== null) unknownAges++;
    const hold =
      trust === null || line.version === null
        ? null
        : trustHoldFor(line.version, trust, stored !== undefined, rules.trust);
    if (hold?.kind === "unknown" && publishedAt !== null) unknownAges++;
    const verdict = decideVisibility(line, publishedAt, window, now, rules, grants, hold);
    verdicts.push(verdict);
    if (verdict.visible) {
      kept++;
      if (verdict.grant !== null) keptBy[verdict.grant.kind]++;
      if (verdict.grant?.kind === "exception") nextChangeAt = earliest(nextChangeAt, verdict.grant.expires);
      continue;
    }
    hidden[verdict.reason]++;
    if (verdict.reason === "too-young" || verdict.reason === "trust-signal") {
      nextVisibleAt = earliest(nextVisibleAt, verdict.visibleAt);
      nextChangeAt = earliest(nextChangeAt, verdict.visibleAt);
    }
  }
  const unchanged = kept === file.lines.length;
  let body: string | undefined = unchanged ? file.text : undefined;
  return {
    verdicts,
    get body() {
      body ??= keptText(file, verdicts);
      return body;
    },
    unchanged,
    kept,
    hidden,
    keptBy,
    nextVisibleAt,
    nextChangeAt,
    unknownAges,
  };
}

const NO_GRANTS: LineGrants = {};

function earliest(a: UnixSeconds | null, b: UnixSeconds): UnixSeconds {
  return a === null || b < a ? b : a;
}

function keptText(file: ScannedIndexFile, verdicts: readonly Verdict[]): string {
  let text = "";
  file.lines.forEach((line, index) => {
    if (verdicts[index]?.visible) text += file.text.slice(line.start, line.end);
  });
  return text;
}

function exceptionsFor(crate: string, exceptions: readonly VersionException[]): Map<string, VersionException> | null {
  let found: Map<string, VersionException> | null = null;
  for (const exception of exceptions) {
    if (exception.crate !== crate) continue;
    found ??= new Map();
    // Of two entries for one version, the one that lasts longer is in force longer.
    const other = found.get(exception.version);
    if (other === undefined || other.expires < exception.expires) found.set(exception.version, exception);
  }
  return found;
}
