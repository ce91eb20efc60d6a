import {
  headPrefixOf,
  type IndexLine,
  type IndexScanOptions,
  PUBTIME_MEMBER,
  type ScannedIndexFile,
  scanIndexFile,
  V_MEMBER_AFTER_PUBTIME,
  YANKED_FALSE,
} from "./index-file.ts";
import { type FilteredIndexFile, filterIndexFile } from "./index-filter.ts";
import type { VisibilityRules } from "./policy.ts";
import { type CrateRecord, timesInPlace } from "./publish-times.ts";
import { formatRfc3339, type UnixSeconds } from "./time.ts";
import type { CooldownWindow } from "./window.ts";

/**
 * Filters a big index file without reading most of its lines. Reading a line in full (index-file.ts) makes three
 * new values — its version, its pubtime text and the line itself — and in an interpreter (the Compute engine) every new
 * string or object costs 1.5–2.4 µs: ~15 µs a line, ~60 ms of CPU for 4,000 lines. Yet most lines of a big file are
 * plain: old, not yanked, dated in the timestamp store, nothing special about their version. Such a line is visible
 * under every rule, and the filter only counts it (the fast pass of `filterIndexFile`). So this finds the plain lines
 * with searches and comparisons in place, making nothing, and hands only the others to the scanner and the filter.
 *
 * A line is plain when, read by its ends exactly as the scanner's end-anchored reading reads it (the proof that the
 * positions are the line's top-level fields is there):
 * - it starts with the head of the file's first line, `{"name":"…","vers":"`;
 * - it ends with `,"pubtime":"` + 20 characters without a quote + `"}` (or that, then `,"v":` and one character);
 * - `},"yanked":false,` starts at its last `}` before the pubtime;
 * - its version (up to the first `",`, without a backslash: so no escaped quote ends it early) is in the record, with a
 *   time no later than `now − window`, and is neither excepted nor trust-held;
 * - its pubtime text is no later than `now − window`, compared character by character with that moment written the
 *   same way (for a valid pubtime, text order is time order). A pubtime that is not valid (which the scanner reads as
 *   none) changes nothing: with the record's time that old, the line is visible either way.
 * The version is taken from the record's own keys where they follow the file's order (no string made), else sliced.
 *
 * Every other line is read by `scanIndexFile` and decided by `filterIndexFile`, as without this, so the counts, the
 * hidden lines, the next changes and the body are what scanning the whole file gives (held by a property test).
 * Verdicts for every line and the whole scan are made only if someone asks (the explain route does not come here).
 *
 * Null when it cannot apply: no record, security-fix admission on with advisories (it weighs every version of the
 * file), a moment outside years 0000–9999, a first line of another shape, or so few plain lines (a quarter or more
 * to read in full) that scanning everything costs less.
 */
export function filterWithPlainLines(
  crate: string,
  text: string,
  record: CrateRecord | null,
  window: CooldownWindow,
  now: UnixSeconds,
  rules: VisibilityRules,
  scanOptions: IndexScanOptions = {},
): { file: ScannedIndexFile; filtered: FilteredIndexFile } | null {
  if (record === null) return null;
  if (rules.securityFixes.enabled && record.advisories !== undefined && record.advisories.length > 0) return null;
  // Read in place as the edge decodes records; a Map (the Node home's) copied into an object without a prototype, so
  // that no version can name an inherited property.
  const times: Readonly<Record<string, UnixSeconds>> =
    timesInPlace(record.versions) ?? Object.assign(Object.create(null), Object.fromEntries(record.versions));
  const matureBy = now - window.seconds;
  const cutoff = formatRfc3339(matureBy);
  if (cutoff.length !== 20) return null;
  const cutoffCodes: number[] = [];
  for (let i = 0; i < 20; i++) cutoffCodes.push(cutoff.charCodeAt(i));
  const prefix = headPrefixOf(text, 0);
  if (prefix === null) return null;
  const special = specialVersions(crate, record, rules);
  const { others, otherLineNumbers, lineCount, plain } = findPlainLines(
    text,
    prefix,
    times,
    special,
    matureBy,
    cutoffCodes,
  );
  if (otherLineNumbers.length * 4 >= lineCount) return null;

  // The other lines, read in one scan of their text joined (a scan's set-up costs more than a short line's reading),
  // each then placed back where it lies in the file.
  const pieces: string[] = [];
  for (let other = 0; other < others.length; other += 2) {
    const piece = text.slice(others[other], others[other + 1]);
    pieces.push(piece.endsWith("\n") ? piece : `${piece}\n`);
  }
  const scanned = scanIndexFile(pieces.join(""), scanOptions).lines;
  const read: IndexLine[] = [];
  let withoutPubtime = 0;
  let withPubtimeKey = plain;
  for (let index = 0; index < scanned.length; index++) {
    const line = scanned[index] as IndexLine;
    read.push({ ...line, start: others[2 * index] as number, end: others[2 * index + 1] as number });
    if (line.pubtime === null) withoutPubtime++;
    if (line.hasPubtimeKey) withPubtimeKey++;
  }
  const readFile: ScannedIndexFile = {
    text,
    textLength: text.length,
    lines: read,
    linesWithoutPubtime: withoutPubtime,
    linesWithPubtimeKey: withPubtimeKey,
  };
  const decided = filterIndexFile(crate, readFile, record, window, now, rules);

  let whole: { file: ScannedIndexFile; filtered: FilteredIndexFile } | undefined;
  const wholly = () => {
    if (whole === undefined) {
      const file = scanIndexFile(text, scanOptions);
      whole = { file, filtered: filterIndexFile(crate, file, record, window, now, rules) };
    }
    return whole;
  };
  const hiddenLines = decided.hiddenLines.map((index) => otherLineNumbers[index] as number);
  return {
    file: {
      text,
      textLength: text.length,
      get lines() {
        return wholly().file.lines;
      },
      get linesWithoutPubtime() {
        return wholly().file.linesWithoutPubtime;
      },
      get linesWithPubtimeKey() {
        return wholly().file.linesWithPubtimeKey;
      },
    },
    filtered: {
      get verdicts() {
        return wholly().filtered.verdicts;
      },
      hiddenLines,
      hiddenSpans: decided.hiddenSpans,
      lineCount,
      get body() {
        return decided.body;
      },
      unchanged: hiddenLines.length === 0,
      kept: decided.kept + plain,
      hidden: decided.hidden,
      keptBy: decided.keptBy,
      nextVisibleAt: decided.nextVisibleAt,
      nextChangeAt: decided.nextChangeAt,
      unknownAges: decided.unknownAges,
    },
  };
}

/** The lines found plain, counted; where the others lie and their line numbers. */
interface PlainLines {
  readonly plain: number;
  readonly lineCount: number;
  /** Start and end of each line that is not plain, in order. */
  readonly others: readonly number[];
  readonly otherLineNumbers: readonly number[];
}

/**
 * The loop over every line, in a function of its own that no closure shares: variables a closure captures live in an
 * environment object, and the interpreter reads those slower than its own slots (measured: the same loop cost twice
 * as much inside `filterWithPlainLines`).
 */
function findPlainLines(
  text: string,
  prefix: string,
  times: Readonly<Record<string, UnixSeconds>>,
  special: Readonly<Record<string, true>> | null,
  matureBy: UnixSeconds,
  cutoffCodes: readonly number[],
): PlainLines {
  const keys = Object.keys(times);
  const keysUsable = !/["\\]/.test(keys.join(""));

  // Locals, not the imported bindings: reading an import costs a lookup per use in the interpreter.
  const pubtimeMember = PUBTIME_MEMBER;
  const pubtimeLength = PUBTIME_MEMBER.length;
  const vMember = V_MEMBER_AFTER_PUBTIME;
  const yankedFalse = YANKED_FALSE;
  /** Start and end of each line that is not plain, in order, and its line number. */
  const others: number[] = [];
  const otherLineNumbers: number[] = [];
  let lineCount = 0;
  let plain = 0;
  let key = 0;
  for (let start = 0; start < text.length; lineCount++) {
    const newline = text.indexOf("\n", start);
    const contentEnd = newline === -1 ? text.length : newline;
    const end = newline === -1 ? text.length : newline + 1;
    let version: string | null = null;
    // The checks in the order of their cost, each on the line as written; any failing leaves `version` null.
    if (text.startsWith(prefix, start)) {
      const versStart = start + prefix.length;
      // The record's next key, if this line holds it: tried on every line, so that the keys stay in step with the
      // lines whatever else a line holds.
      let expected = keysUsable ? keys[key] : undefined;
      let hinted = expected !== undefined && holdsVersion(text, versStart, expected);
      // A version the record has and the file lacks (or the other way round) puts the keys one off: step over it.
      if (!hinted && keysUsable) {
        const next = keys[key + 1];
        if (next !== undefined && holdsVersion(text, versStart, next)) {
          expected = next;
          hinted = true;
          key++;
        }
      }
      if (hinted) key++;
      let last = contentEnd - 1;
      let closing = text.charCodeAt(last);
      if (closing === 0x0d /* \r: JSON whitespace */) closing = text.charCodeAt(--last);
      let member = last - 33;
      if (closing === 0x7d /* } */ && !text.startsWith(pubtimeMember, member)) {
        member = last - 39;
        if (!text.startsWith(vMember, last - 7) || !text.startsWith(pubtimeMember, member)) member = -1;
      }
      const pubtime = member + pubtimeLength;
      if (
        closing === 0x7d &&
        member > versStart &&
        text.indexOf('"', pubtime) === pubtime + 20 &&
        notLaterThan(text, pubtime, cutoffCodes)
      ) {
        const lastClose = text.lastIndexOf("}", member);
        if (lastClose > versStart && text.startsWith(yankedFalse, lastClose)) {
          if (hinted && expected !== undefined) version = expected;
          else {
            const versEnd = text.indexOf('",', versStart);
            const sliced = versEnd === -1 ? "" : text.slice(versStart, versEnd);
            if (versEnd !== -1 && versEnd < lastClose && !sliced.includes("\\")) version = sliced;
          }
          if (version !== null && versStart + version.length >= lastClose) version = null;
        }
      }
    }
    const storedAt = version === null ? undefined : times[version];
    if (version !== null && storedAt !== undefined && storedAt <= matureBy && (special === null || !special[version])) {
      plain++;
    } else {
      others.push(start, end);
      otherLineNumbers.push(lineCount);
    }
    start = end;
  }
  return { plain, lineCount, others, otherLineNumbers };
}

/** Whether the line's version, at `at`, is `version` (which holds no quote or backslash): it is followed by `",`. */
function holdsVersion(text: string, at: number, version: string): boolean {
  return text.startsWith(version, at) && text.startsWith('",', at + version.length);
}

/**
 * Whether the 20 characters at `at` come no later than the cutoff (its character codes; a pubtime of cargo's shape) in
 * text order. Most pubtimes differ from it within the first few characters (the year, the month).
 */
function notLaterThan(text: string, at: number, cutoff: readonly number[]): boolean {
  for (let i = 0; i < 20; i++) {
    const difference = text.charCodeAt(at + i) - (cutoff[i] as number);
    if (difference !== 0) return difference < 0;
  }
  return true;
}

/** Versions that are never plain here: excepted, or holding a trust signal or unknown trust data; null: none. */
function specialVersions(crate: string, record: CrateRecord, rules: VisibilityRules): Record<string, true> | null {
  const special: Record<string, true> = Object.create(null);
  let any = false;
  for (const exception of rules.exceptions) {
    if (exception.crate === crate) special[exception.version] = any = true;
  }
  if (rules.trust.enabled && record.trust !== undefined) {
    for (const version of record.trust.unknown) special[version] = any = true;
    for (const version of record.trust.signals.keys()) special[version] = any = true;
  }
  return any ? special : null;
}
