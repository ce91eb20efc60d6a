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
import { type CrateRecord, timesInPlace } from "./publish-times.ts";
import { admittedFixes } from "./security-fixes.ts";
import type { UnixSeconds } from "./time.ts";
import { trustHoldFor } from "./trust-signals.ts";
import type { CooldownWindow } from "./window.ts";

/** Every line's verdict, and the body cargo gets: the visible lines, byte for byte, in upstream order. */
export interface FilteredIndexFile {
  /**
   * Every line's verdict, in file order. Made on first use: the proxy needs only which lines are hidden, and most
   * lines (old enough, nothing special) are decided without a verdict object (see `filterIndexFile`).
   */
  readonly verdicts: readonly Verdict[];
  /** The indices of the hidden lines, ascending. */
  readonly hiddenLines: readonly number[];
  /** Where each hidden line lies in the file's text: start and end offsets, a pair per hidden line, ascending. */
  readonly hiddenSpans: readonly number[];
  /** How many lines the file has (readable or not). */
  readonly lineCount: number;
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
 *
 * Most lines of a file are plain: readable, not yanked, of a known age past the window, with no exception, admission
 * or trust signal. Such a line is visible whatever else the rules say, so it is counted as kept with a few comparisons
 * and no verdict object; every other line is decided by `decideVisibility` (policy.ts) at once. The verdicts of all
 * lines are made the same way when someone asks for them, and a plain line's verdict is always visible (held by
 * tests on the real index), so what the fast pass counts is what the verdicts say.
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
  const trust = rules.trust.enabled ? (record?.trust ?? null) : null;
  const stored = record?.versions ?? null;
  const lines = file.lines;

  /** The full decision for one line: its publish time, grants and trust hold, then `decideVisibility`. */
  const decideLine = (index: number): { verdict: Verdict; unknownAge: boolean } => {
    const line = lines[index] as IndexLine;
    const version = line.version;
    const storedAt = stored !== null && version !== null ? stored.get(version) : undefined;
    const exception = version !== null ? exceptions?.get(version) : undefined;
    const advisory = fixes?.get(index);
    // Most lines have no grant: one shared empty object instead of one per line.
    const grants: LineGrants =
      exception === undefined && advisory === undefined
        ? NO_GRANTS
        : {
            ...(exception === undefined ? {} : { exception }),
            ...(advisory === undefined ? {} : { securityFix: { advisory, floor: rules.securityFixes.floor } }),
          };
    const publishedAt = resolvePublishTime(line, storedAt, inferredBound);
    const hold =
      trust === null || version === null ? null : trustHoldFor(version, trust, storedAt !== undefined, rules.trust);
    const unknownAge = (publishedAt === null && version !== null) || (hold?.kind === "unknown" && publishedAt !== null);
    return { verdict: decideVisibility(line, publishedAt, window, now, rules, grants, hold), unknownAge };
  };

  const hidden: Record<HiddenReason, number> = {
    "too-young": 0,
    yanked: 0,
    "unknown-publish-time": 0,
    "unreadable-line": 0,
    "trust-signal": 0,
    "trust-data-unknown": 0,
  };
  const hiddenLines: number[] = [];
  /** Published at or before this moment: past the window (a plain line's wait is the window itself). */
  const matureBy = now - window.seconds;
  let kept = 0;
  const keptBy: Record<Grant["kind"], number> = { exception: 0, "security-fix": 0, "unknown-publish-time-shown": 0 };
  let nextVisibleAt: UnixSeconds | null = null;
  let nextChangeAt: UnixSeconds | null = null;
  let unknownAges = 0;
  // A plain loop with no closures on the fast path: this runs for every line of every file served.
  const storedInPlace = stored === null ? null : timesInPlace(stored);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] as IndexLine;
    const version = line.version;
    if (version !== null && !line.yanked) {
      const storedAt =
        storedInPlace !== null ? storedInPlace[version] : stored === null ? undefined : stored.get(version);
      // The time resolvePublishTime gives: pubtime, or the database's when later or the only one, else the inferred
      // bound of a file older than crates.io's pubtime.
      const at =
        storedAt !== undefined && (line.pubtime === null || storedAt > line.pubtime)
          ? storedAt
          : (line.pubtime ?? inferredBound);
      if (
        at !== null &&
        at <= matureBy &&
        (exceptions === null || !exceptions.has(version)) &&
        (fixes === null || !fixes.has(index)) &&
        (trust === null || (storedAt !== undefined && !trust.unknown.has(version) && !trust.signals.has(version)))
      ) {
        kept++;
        continue;
      }
    }
    const { verdict, unknownAge } = decideLine(index);
    if (unknownAge) unknownAges++;
    if (verdict.visible) {
      kept++;
      if (verdict.grant !== null) keptBy[verdict.grant.kind]++;
      if (verdict.grant?.kind === "exception") nextChangeAt = earliest(nextChangeAt, verdict.grant.expires);
      continue;
    }
    hidden[verdict.reason]++;
    hiddenLines.push(index);
    if (verdict.reason === "too-young" || verdict.reason === "trust-signal") {
      nextVisibleAt = earliest(nextVisibleAt, verdict.visibleAt);
      nextChangeAt = earliest(nextChangeAt, verdict.visibleAt);
    }
  }
  const unchanged = hiddenLines.length === 0;
  const hiddenSpans: number[] = [];
  for (const index of hiddenLines) {
    const line = lines[index] as IndexLine;
    hiddenSpans.push(line.start, line.end);
  }
  let verdicts: Verdict[] | undefined;
  let body: string | undefined = unchanged ? file.text : undefined;
  return {
    get verdicts() {
      verdicts ??= lines.map((_, index) => decideLine(index).verdict);
      return verdicts;
    },
    hiddenLines,
    hiddenSpans,
    lineCount: lines.length,
    get body() {
      body ??= keptText(file.text, hiddenSpans);
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

function keptText(text: string, hiddenSpans: readonly number[]): string {
  let kept = "";
  let from = 0;
  for (let span = 0; span < hiddenSpans.length; span += 2) {
    kept += text.slice(from, hiddenSpans[span]);
    from = hiddenSpans[span + 1] as number;
  }
  return kept + text.slice(from);
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
