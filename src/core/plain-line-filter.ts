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
import { decodeUtf8Exactly } from "./utf8.ts";
import type { CooldownWindow } from "./window.ts";

/**
 * Filters a big index file without reading most of its lines. Reading a line in full (index-file.ts) makes three
 * new values — its version, its pubtime text and the line itself — and in an interpreter (the Compute engine) every new
 * string or object costs 1.5–2.4 µs: ~15 µs a line, ~60 ms of CPU for 4,000 lines. Yet most lines of a big file are
 * plain: old, not yanked, dated in the timestamp store, nothing special about their version. Such a line is visible
 * under every rule, and the filter only counts it (the fast pass of `filterIndexFile`). So this finds the plain lines
 * with searches and comparisons in place, making nothing, and hands only the others to the scanner and the filter.
 *
 * It goes in two steps, so that the first can be kept for the bytes (scan-cache.ts) and only the second repeated for
 * another window, another record or another moment:
 * - `findLineShapes`, whatever the window, the record and the rules: which lines are plain in shape, with their
 *   version and their pubtime as written;
 * - `filterWithLineShapes`: of those, the lines plain now.
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
 * The first three and the version's text make the line plain in shape; the last two decide it for one request.
 *
 * Every other line is read by `scanIndexFile` and decided by `filterIndexFile`, as without this, so the counts, the
 * hidden lines, the next changes and the body are what scanning the whole file gives (held by a property test).
 * Verdicts for every line and the whole scan are made only if someone asks (the explain route does not come here).
 */
export function filterWithPlainLines(
  crate: string,
  text: string,
  record: CrateRecord | null,
  window: CooldownWindow,
  now: UnixSeconds,
  rules: VisibilityRules,
  scanOptions: IndexScanOptions = {},
): PlainLineAnswer | null {
  if (record === null) return null;
  const shapes = findLineShapes(text, record);
  if (shapes === null) return null;
  return filterWithLineShapes(crate, shapes, { text, bytes: null }, record, window, now, rules, scanOptions);
}

/**
 * The body that shapes are decided on: its text, or (for shapes kept for an ASCII body) its bytes, whose offsets are
 * then the text's.
 */
export type BodySource =
  | { readonly text: string; readonly bytes: null }
  | { readonly text: null; readonly bytes: Uint8Array };

/** What `filterWithLineShapes` answers: a file read by its plain lines, decided as the whole file's scan would be. */
export interface PlainLineAnswer {
  readonly file: ScannedIndexFile;
  readonly filtered: FilteredIndexFile;
  /** The shapes to keep for these bytes: those given, with the readings of the lines not plain in shape. */
  readonly shapes: LineShapes;
}

/**
 * What a body's lines are whatever the window, the record and the rules (see `filterWithPlainLines`), line by line in
 * file order. Kept between requests for the same bytes (scan-cache.ts), where its offsets count bytes.
 */
export interface LineShapes {
  /** Where each line starts, then where the text ends: line `i` spans `starts[i]` to `starts[i + 1]`. */
  readonly starts: readonly number[];
  /** Each line's version when the line is plain in shape; null for every other line. */
  readonly versions: readonly (string | null)[];
  /**
   * Each such line's pubtime as written (20 characters, no quote; null for every other line): a later request compares
   * it with its cutoff in one native comparison, where comparing the line's characters in place cost ~3 µs a line.
   */
  readonly pubtimes: readonly (string | null)[];
  /**
   * How the scanner reads each line not plain in shape (yanked, of another head or tail), in order, offsets included:
   * such a line is never plain, so every request reads it, and a later request takes its reading from here instead of
   * decoding and scanning it again. Absent from shapes found now (their lines are read with the others).
   */
  readonly readings?: readonly IndexLine[];
}

/**
 * The shapes of the lines of `text` (see `LineShapes`); null when its first line has another head, so no line can be
 * plain. `record` only spares strings: its versions, where they follow the file's order, are compared in place
 * instead of sliced from each line; the shapes do not depend on it.
 */
export function findLineShapes(text: string, record: CrateRecord | null): LineShapes | null {
  const prefix = headPrefixOf(text, 0);
  if (prefix === null) return null;
  const times = record === null ? null : timesInPlace(record.versions);
  const keys = times !== null ? Object.keys(times) : record === null ? [] : [...record.versions.keys()];
  return shapesOf(text, prefix, /["\\]/.test(keys.join("")) ? [] : keys);
}

/**
 * The lines plain now among those plain in shape, and every other line read and decided as the scanner and the filter
 * would (see `filterWithPlainLines`), on `source` (see `BodySource`). Null when it cannot apply: no record,
 * security-fix admission on with advisories (it weighs every version of the file), a moment outside years 0000–9999,
 * shapes that do not fit the bytes, or so few plain lines (a quarter or more to read in full) that scanning everything
 * costs less.
 */
export function filterWithLineShapes(
  crate: string,
  shapes: LineShapes,
  source: BodySource,
  record: CrateRecord | null,
  window: CooldownWindow,
  now: UnixSeconds,
  rules: VisibilityRules,
  scanOptions: IndexScanOptions = {},
): PlainLineAnswer | null {
  if (record === null) return null;
  if (rules.securityFixes.enabled && record.advisories !== undefined && record.advisories.length > 0) return null;
  // Read in place as the edge decodes records; a Map (the Node home's) copied into an object without a prototype, so
  // that no version can name an inherited property.
  const times: Readonly<Record<string, UnixSeconds>> =
    timesInPlace(record.versions) ?? Object.assign(Object.create(null), Object.fromEntries(record.versions));
  const matureBy = now - window.seconds;
  const cutoff = formatRfc3339(matureBy);
  if (cutoff.length !== 20) return null;
  const special = specialVersions(crate, record, rules);
  const found = plainNow(shapes, source.bytes, times, special, matureBy, cutoff);
  if (found === null) return null;
  const { others, otherLineNumbers, plain } = found;
  const lineCount = shapes.versions.length;
  if (otherLineNumbers.length * 4 >= lineCount) return null;
  const textLength = shapes.starts[lineCount] as number;
  let text = source.text;
  const wholeText = () => {
    text ??= decodeUtf8Exactly(source.bytes as Uint8Array);
    return text;
  };

  const readOthers = readOtherLines(shapes, source, others, otherLineNumbers, scanOptions);
  if (readOthers === null) return null;
  const { read, notPlainInShape } = readOthers;
  let withoutPubtime = 0;
  let withPubtimeKey = plain;
  for (const line of read) {
    if (line.pubtime === null) withoutPubtime++;
    if (line.hasPubtimeKey) withPubtimeKey++;
  }
  const readFile: ScannedIndexFile = {
    get text() {
      return wholeText();
    },
    textLength,
    lines: read,
    linesWithoutPubtime: withoutPubtime,
    linesWithPubtimeKey: withPubtimeKey,
  };
  const decided = filterIndexFile(crate, readFile, record, window, now, rules);

  let whole: { file: ScannedIndexFile; filtered: FilteredIndexFile } | undefined;
  const wholly = () => {
    if (whole === undefined) {
      const file = scanIndexFile(wholeText(), scanOptions);
      whole = { file, filtered: filterIndexFile(crate, file, record, window, now, rules) };
    }
    return whole;
  };
  const hiddenLines = decided.hiddenLines.map((index) => otherLineNumbers[index] as number);
  return {
    shapes: shapes.readings === undefined ? { ...shapes, readings: notPlainInShape } : shapes,
    file: {
      get text() {
        return wholeText();
      },
      textLength,
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

/**
 * How the scanner reads the lines that are not plain now (`others`: start and end of each; `otherLineNumbers`: which
 * line each is), in order, and which of those readings are of lines not plain in shape (to keep). Those lines are taken
 * from the shapes' kept readings when they have them; the rest are read in one scan of their text joined (a scan's
 * set-up costs more than a short line's reading), each then placed back where it lies in the file. From kept shapes,
 * only those lines' bytes are decoded. Null when a kept reading is not one of its line.
 */
function readOtherLines(
  shapes: LineShapes,
  source: BodySource,
  others: readonly number[],
  otherLineNumbers: readonly number[],
  scanOptions: IndexScanOptions,
): { read: IndexLine[]; notPlainInShape: IndexLine[] } | null {
  const { versions, readings } = shapes;
  const read: IndexLine[] = [];
  const unread: number[] = [];
  let reading = 0;
  for (let other = 0; other < otherLineNumbers.length; other++) {
    const kept = versions[otherLineNumbers[other] as number] === null ? readings?.[reading++] : undefined;
    // A kept reading must be one, of this very line (kept shapes are checked as they are used).
    if (
      kept !== undefined &&
      (typeof kept !== "object" ||
        kept === null ||
        kept.start !== others[2 * other] ||
        kept.end !== others[2 * other + 1])
    )
      return null;
    if (kept === undefined) unread.push(other);
    read.push(kept as IndexLine);
  }
  if (readings !== undefined && reading !== readings.length) return null;
  const pieces: string[] = [];
  const decoder = source.text === null ? new TextDecoder() : null;
  for (const other of unread) {
    const from = others[2 * other] as number;
    const to = others[2 * other + 1] as number;
    const piece =
      source.text !== null
        ? source.text.slice(from, to)
        : (decoder as TextDecoder).decode(source.bytes.subarray(from, to));
    pieces.push(piece.endsWith("\n") ? piece : `${piece}\n`);
  }
  const scanned = scanIndexFile(pieces.join(""), scanOptions).lines;
  const notPlainInShape: IndexLine[] = [];
  for (let index = 0; index < scanned.length; index++) {
    const other = unread[index] as number;
    const line = {
      ...(scanned[index] as IndexLine),
      start: others[2 * other] as number,
      end: others[2 * other + 1] as number,
    };
    read[other] = line;
    if (versions[otherLineNumbers[other] as number] === null) notPlainInShape.push(line);
  }
  return { read, notPlainInShape };
}

/**
 * The loop over every line that finds its shape, in a function of its own that no closure shares: variables a closure
 * captures live in an environment object, and the interpreter reads those slower than its own slots (measured: the
 * same loop cost twice as much inside `filterWithPlainLines`). Every check is written out in the loop: a call costs
 * the interpreter a frame (measured: helpers for the version and the pubtime cost ~15% of the loop).
 */
function shapesOf(text: string, prefix: string, keys: readonly string[]): LineShapes {
  // Locals, not the imported bindings: reading an import costs a lookup per use in the interpreter.
  const pubtimeMember = PUBTIME_MEMBER;
  const pubtimeLength = PUBTIME_MEMBER.length;
  const vMember = V_MEMBER_AFTER_PUBTIME;
  const yankedFalse = YANKED_FALSE;
  const starts: number[] = [];
  const versions: (string | null)[] = [];
  const pubtimes: (string | null)[] = [];
  let key = 0;
  let start = 0;
  while (start < text.length) {
    starts.push(start);
    const newline = text.indexOf("\n", start);
    const contentEnd = newline === -1 ? text.length : newline;
    const end = newline === -1 ? text.length : newline + 1;
    let version: string | null = null;
    let pubtime: string | null = null;
    // The checks in the order of their cost, each on the line as written; any failing leaves `version` null.
    if (text.startsWith(prefix, start)) {
      const versStart = start + prefix.length;
      // The record's next key, if this line holds it: tried on every line, so that the keys stay in step with the
      // lines whatever else a line holds.
      let expected = keys[key];
      let hinted =
        expected !== undefined &&
        text.startsWith(expected, versStart) &&
        text.startsWith('",', versStart + expected.length);
      // A version the record has and the file lacks (or the other way round) puts the keys one off: step over it.
      if (!hinted) {
        const next = keys[key + 1];
        if (next !== undefined && text.startsWith(next, versStart) && text.startsWith('",', versStart + next.length)) {
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
      const at = member + pubtimeLength;
      if (closing === 0x7d && member > versStart && text.indexOf('"', at) === at + 20) {
        const lastClose = text.lastIndexOf("}", member);
        if (lastClose > versStart && text.startsWith(yankedFalse, lastClose)) {
          if (hinted && expected !== undefined) version = expected;
          else {
            const versEnd = text.indexOf('",', versStart);
            const sliced = versEnd === -1 ? "" : text.slice(versStart, versEnd);
            if (versEnd !== -1 && versEnd < lastClose && !sliced.includes("\\")) version = sliced;
          }
          if (version !== null && versStart + version.length >= lastClose) version = null;
          if (version !== null) pubtime = text.slice(at, at + 20);
        }
      }
    }
    versions.push(version);
    pubtimes.push(pubtime);
    start = end;
  }
  starts.push(text.length);
  return { starts, versions, pubtimes };
}

/** The lines plain now, counted; where the others lie and their line numbers. */
interface PlainNow {
  readonly plain: number;
  /** Start and end of each line that is not plain, in order. */
  readonly others: readonly number[];
  readonly otherLineNumbers: readonly number[];
}

/**
 * The lines plain now among those plain in shape (see `filterWithPlainLines`). With `bytes` (shapes kept for them),
 * checks as it goes that the shapes fit: every line but the last ends with a newline. Null when they do not.
 */
function plainNow(
  shapes: LineShapes,
  bytes: Uint8Array | null,
  times: Readonly<Record<string, UnixSeconds>>,
  special: Readonly<Record<string, true>> | null,
  matureBy: UnixSeconds,
  cutoff: string,
): PlainNow | null {
  const { starts, versions, pubtimes } = shapes;
  const lineCount = versions.length;
  if (starts.length !== lineCount + 1 || pubtimes.length !== lineCount || starts[0] !== 0) return null;
  if (bytes !== null && starts[lineCount] !== bytes.byteLength) return null;
  const last = lineCount - 1;
  const others: number[] = [];
  const otherLineNumbers: number[] = [];
  let plain = 0;
  for (let line = 0; line < lineCount; line++) {
    if (bytes !== null && bytes[(starts[line + 1] as number) - 1] !== 0x0a && line !== last) return null;
    const version = versions[line];
    if (typeof version === "string") {
      // Text order is time order for pubtimes in cargo's shape; any other text is no later than the cutoff only where
      // the record's time decides (see `filterWithPlainLines`).
      const pubtime = pubtimes[line] as string;
      const storedAt = times[version];
      if (
        pubtime <= cutoff &&
        storedAt !== undefined &&
        storedAt <= matureBy &&
        (special === null || !special[version])
      ) {
        plain++;
        continue;
      }
    }
    others.push(starts[line] as number, starts[line + 1] as number);
    otherLineNumbers.push(line);
  }
  return { plain, others, otherLineNumbers };
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
