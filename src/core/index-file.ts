import { parsePubtime, type UnixSeconds } from "./time.ts";

/** One line of an index file, located by offsets into the file's text, with the three fields the policy needs. */
export interface IndexLine {
  /** Offset of the first character of the line. */
  readonly start: number;
  /** Offset just past the line, including its `\n` when it has one. */
  readonly end: number;
  /** `vers`, or `null` when the line cannot be read as an index entry. */
  readonly version: string | null;
  readonly yanked: boolean;
  /** `pubtime` when present and in cargo's exact format; otherwise `null`. */
  readonly pubtime: UnixSeconds | null;
  /** Whether the line carries a top-level `pubtime` key at all (for a line that is not JSON: any `"pubtime"` text). */
  readonly hasPubtimeKey: boolean;
}

/**
 * How the fast path reads the plain values after a line's nested ones (see `scanIndexFile`). Both give the same
 * result on every line; they differ only in cost, and the costs are opposite in the two engines this core runs in:
 * - `"positional"`: key by key with `charCodeAt`/`startsWith`, allocating nothing. V8 compiles those calls to a few
 *   instructions; JSON.parse of each tail would cost Node +60% on the whole 2020 index (measured).
 * - `"json-parse"`: one `JSON.parse` of the tail. The Compute engine interprets JavaScript (no JIT), so every call
 *   costs ~0.3 µs: key by key a crates.io tail of five keys took ~20 µs a line there, one JSON.parse ~3 µs (measured).
 */
export type TailReader = "positional" | "json-parse";

export interface IndexScanOptions {
  /** Default `"positional"`. */
  readonly tailReader?: TailReader;
  /**
   * Lines shorter than this many characters are read with JSON.parse outright (default 0: none). Where calls are dear
   * and JSON.parse is cheap per character, a short line is parsed faster than its fields can be found.
   */
  readonly parseLinesShorterThan?: number;
}

export interface ScannedIndexFile {
  readonly text: string;
  /** `text.length`, known without decoding a kept scan's text (scan-cache.ts). */
  readonly textLength: number;
  readonly lines: readonly IndexLine[];
  /** Lines without a valid `pubtime` (unreadable lines included). */
  readonly linesWithoutPubtime: number;
  /** Lines that carry a `pubtime` key, valid or not (see `IndexLine.hasPubtimeKey`). */
  readonly linesWithPubtimeKey: number;
}

/**
 * Finds the occurrences of one needle line by line without rescanning: the cursor holds the next occurrence in the
 * whole text and is only moved forward, so the text is searched at most once per needle, however many lines ask.
 * Searching starts on first use: a file whose lines never need the needle never pays for it.
 */
class NeedleCursor {
  private next = -2;
  constructor(
    private readonly text: string,
    private readonly needle: string,
  ) {}
  /** Whether the needle occurs in [start, end). */
  occursIn(start: number, end: number): boolean {
    if (this.next === -2 || (this.next !== -1 && this.next < start)) this.next = this.text.indexOf(this.needle, start);
    return this.next !== -1 && this.next < end;
  }
}

/**
 * Reads `vers`, `yanked` and `pubtime` from every line of an index file.
 *
 * Fast path, for lines shaped as every serde writer of the index (crates.io, cargo, kellnr) writes them:
 * `{"name":"…","vers":"…",` first, then the nested `deps`/`features`, then after the last `}` a tail of plain values
 * (`"yanked":…`, `"links"`, `"rust_version"`, `"pubtime"`, `"v"`, in any order) up to the closing `}`. `vers` is then
 * the second key of the outermost object and the tail keys follow its last nested value, so all are top-level, read
 * by position without searching the (possibly megabytes of) nested middle. Only when the tail has no `pubtime` is the
 * middle searched (a cursor per needle, so at most once per file) for a `btime"` that could be a top-level `pubtime`
 * key; a line holding a `\u` escape, which could spell a key unseen, takes the exact path. Every other line takes
 * `JSON.parse` too.
 *
 * So on every valid JSON line that does not repeat `vers`, `yanked` or `pubtime` the result equals a full parse.
 * cargo itself refuses a line with a duplicate field (serde) or that is not JSON, and skips it: for such lines keeping
 * or dropping shows cargo nothing, and the scanner may read either of a duplicate's values.
 *
 * `options` choose how lines are read, for the engine at hand (see `IndexScanOptions`); what is read is the same.
 */
export function scanIndexFile(text: string, options: IndexScanOptions = {}): ScannedIndexFile {
  return scan(text, options, true);
}

function scan(text: string, options: IndexScanOptions, endAnchored: boolean): ScannedIndexFile {
  const readTail = options.tailReader === "json-parse" ? readTailByJsonParse : readTailByPosition;
  const parseBelow = options.parseLinesShorterThan ?? 0;
  const lines: IndexLine[] = [];
  // `btime"` rather than `pubtime"`: string search skips ahead by the first character, and `b` is rarer than `p` in
  // index JSON (measured: 44 vs 148 ms over the 2020 index). It still finds every literal `pubtime` key.
  const middle = { pubtime: new NeedleCursor(text, 'btime"'), escape: new NeedleCursor(text, "\\u") };
  const head: EndAnchoredReading = {
    prefix: null,
    read: false,
    tryEndAnchored: endAnchored,
    pubtimes: [],
    versions: [],
  };
  let withoutPubtime = 0;
  let withPubtimeKey = 0;
  let start = 0;
  while (start < text.length) {
    const newline = text.indexOf("\n", start);
    const contentEnd = newline === -1 ? text.length : newline;
    const end = newline === -1 ? text.length : newline + 1;
    const anchored = head.tryEndAnchored ? endAnchoredLine(text, start, end, contentEnd, head) : null;
    const line =
      anchored ??
      (contentEnd - start < parseBelow ? null : fastLine(text, start, end, contentEnd, middle, readTail)) ??
      exactLine(text, start, end, contentEnd);
    // crates.io writes pubtime on every line of a file or on none: once a line without one is met, the end-anchored
    // reading cannot apply to this file, and trying it on every line would only cost (a third more on the 2020 index).
    if (anchored === null && !line.hasPubtimeKey) head.tryEndAnchored = false;
    if (!head.read && line.version !== null) {
      head.prefix = headPrefixOf(text, start);
      head.read = true;
    }
    if (line.pubtime === null) withoutPubtime++;
    if (line.hasPubtimeKey) withPubtimeKey++;
    lines.push(line);
    start = end;
  }
  // What the end-anchored reading took on trust is checked here, once for the whole file; should anything fail, the
  // file is read again without it (lines crates.io writes never fail).
  if (head.pubtimes.length > 0 && !endAnchoredReadingsHold(head)) return scan(text, options, false);
  return {
    text,
    textLength: text.length,
    lines,
    linesWithoutPubtime: withoutPubtime,
    linesWithPubtimeKey: withPubtimeKey,
  };
}

const HEAD = '{"name":"';
/** The pieces of a line's end as crates.io writes it (see `endAnchoredLine`), shared with plain-line-filter.ts. */
export const PUBTIME_MEMBER = ',"pubtime":"';
export const V_MEMBER_AFTER_PUBTIME = '","v":';
export const YANKED_FALSE = '},"yanked":false,';
const YANKED_TRUE = '},"yanked":true,';

/** What the end-anchored reading keeps for one file. */
interface EndAnchoredReading {
  /** `{"name":"<name>","vers":"` as the file's first readable line spells it: every crates.io line starts so. */
  prefix: string | null;
  /** Whether the first readable line has been looked at (once per file, whatever it held). */
  read: boolean;
  /** Whether lines are still worth trying by their ends (see `scanIndexFile`). */
  tryEndAnchored: boolean;
  /** Every end-anchored line's pubtime text and version, in order, for `endAnchoredReadingsHold`. */
  readonly pubtimes: string[];
  readonly versions: string[];
}

/** The head of the line at `start` up to its version, when it is plain (no escape in the name); else null. */
export function headPrefixOf(text: string, start: number): string | null {
  if (!text.startsWith(HEAD, start)) return null;
  const nameEnd = text.indexOf('"', start + HEAD.length);
  if (nameEnd === -1 || !text.startsWith(VERS_KEY, nameEnd)) return null;
  const prefix = text.slice(start, nameEnd + VERS_KEY.length);
  return prefix.includes("\\") ? null : prefix;
}

/**
 * The cheapest reading, for lines exactly as crates.io writes them in 2026: the head the file's first line had, and a
 * tail that ends with `pubtime` (or `pubtime` then a one-digit `v`), with `yanked` right after the last nested `}`.
 * Every field is read at a position proven top-level, with a handful of native calls and nothing parsed; a line of any
 * other shape returns null and is read by the paths below. Cost per line does not grow with its length: the deps in
 * the middle are never looked at.
 *
 * Why the positions are the top-level fields, on a valid JSON line:
 * - `pubtime`: the line ends `,"pubtime":"<20 characters of a valid pubtime>"}` (or `…","v":<digit>}`). The final `}`
 *   closes the line's object, and the characters before it can only be read one way (the pubtime's characters hold no
 *   quote or backslash): the last members of that object, the first of them `pubtime`.
 * - `yanked`: `},"yanked":` starts at the last `}` before the final one. That `}` is outside any string (were it inside,
 *   the next `"` would close the string and `yanked` would follow a string, which JSON forbids), so it closes a value
 *   followed by the key `yanked` of the object around it; that object closes at a `}` further on, and the only one is
 *   the final `}`: the line's own object.
 * - `vers`: the line starts `{"name":"<name without quote or backslash>","vers":"`, so `vers` is its second key.
 * A key repeated at the top level makes cargo refuse the line; then either value may be read (as on the other paths).
 *
 * Two things each line takes on trust are checked once for the whole file, after its last line
 * (`endAnchoredReadingsHold`): that every pubtime is in cargo's shape on a day that exists (so that Date.parse read it
 * as `parsePubtime` would, and it held no quote), and that no version holds a quote or a backslash (so that the first
 * `",` closed it). One regex over all pubtimes costs less than one per line in the Compute engine (~25% of a 4,000-line
 * scan, measured there); a file that fails is read again without this path.
 */
function endAnchoredLine(
  text: string,
  start: number,
  end: number,
  contentEnd: number,
  head: EndAnchoredReading,
): IndexLine | null {
  const prefix = head.prefix;
  if (prefix === null || !text.startsWith(prefix, start)) return null;
  let last = contentEnd - 1;
  let closing = text.charCodeAt(last);
  if (closing === 0x0d /* \r: JSON whitespace */) closing = text.charCodeAt(--last);
  if (closing !== 0x7d /* } */) return null;
  // `,"pubtime":"` + 20 + `"}`, or `,"pubtime":"` + 20 + `","v":` + one character + `}`. The quote closing the
  // pubtime in the first and the digit in the second need no check: a valid line has nothing else there.
  let member = last - 33;
  if (!text.startsWith(PUBTIME_MEMBER, member)) {
    member = last - 39;
    if (!text.startsWith(V_MEMBER_AFTER_PUBTIME, last - 7) || !text.startsWith(PUBTIME_MEMBER, member)) return null;
  }
  const pubtimeText = text.slice(member + PUBTIME_MEMBER.length, member + PUBTIME_MEMBER.length + 20);
  // Date.parse reads every valid pubtime exactly (see parsePubtime); that this is one (so not NaN) is checked with the
  // whole file's.
  const ms = Date.parse(pubtimeText);
  const lastClose = text.lastIndexOf("}", member);
  let yanked: boolean;
  if (text.startsWith(YANKED_FALSE, lastClose)) yanked = false;
  else if (text.startsWith(YANKED_TRUE, lastClose)) yanked = true;
  else return null;
  // The version ends at its closing quote, which a comma follows; the first `",` is that quote unless the version
  // holds a quote or a backslash itself, which the whole file's check refuses.
  const versStart = start + prefix.length;
  const versEnd = text.indexOf('",', versStart);
  if (versEnd === -1 || versEnd >= lastClose) return null;
  const version = text.slice(versStart, versEnd);
  head.pubtimes.push(pubtimeText);
  head.versions.push(version);
  return { start, end, version, yanked, pubtime: ms / 1000, hasPubtimeKey: true };
}

/** Any number of pubtimes in cargo's shape, one after another (each exactly 20 characters, as `parsePubtime` wants). */
const PUBTIMES = /^(?:\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\dZ)*$/;
/** A day its month never has. In pubtimes of the shape above, `-MM-DDT` can only be a month and a day. */
const IMPOSSIBLE_DAY = /-(?:02-3[01]|(?:0[469]|11)-31)T/;
const FEBRUARY_29 = "-02-29T";
const QUOTE_OR_BACKSLASH = /["\\]/;

/**
 * Whether every end-anchored line was read as `parsePubtime` and the quote-by-quote reading would have read it: each
 * pubtime in cargo's shape and on a day that exists, each version free of quotes and backslashes. A few native calls
 * over the file's pubtimes and versions, where checking line by line cost ~3 µs a line in the Compute engine.
 */
function endAnchoredReadingsHold(reading: EndAnchoredReading): boolean {
  const pubtimes = reading.pubtimes.join("");
  if (!PUBTIMES.test(pubtimes) || IMPOSSIBLE_DAY.test(pubtimes)) return false;
  // A search per February 29 (rare), not matchAll: its iterator costs ~5 µs a pubtime in the Compute engine.
  for (let at = pubtimes.indexOf(FEBRUARY_29); at !== -1; at = pubtimes.indexOf(FEBRUARY_29, at + 1)) {
    if (!isLeapYear(Number(pubtimes.slice(at - 4, at)))) return false;
  }
  return !QUOTE_OR_BACKSLASH.test(reading.versions.join(""));
}

/** The proleptic Gregorian calendar's rule, as ECMAScript dates (and so cargo's pubtimes) follow it. */
function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}
const VERS_KEY = '","vers":"';
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function fastLine(
  text: string,
  start: number,
  end: number,
  contentEnd: number,
  middle: { pubtime: NeedleCursor; escape: NeedleCursor },
  readTail: TailReading,
): IndexLine | null {
  let last = contentEnd - 1;
  if (text.charCodeAt(last) === 0x0d /* \r: JSON whitespace */) last--;
  if (text.charCodeAt(last) !== 0x7d /* } */ || !text.startsWith(HEAD, start)) return null;
  // Head: the name's closing quote (an escaped quote there sends the line to the exact path), then vers.
  const nameEnd = text.indexOf('"', start + HEAD.length);
  if (
    nameEnd === -1 ||
    nameEnd >= last ||
    text.charCodeAt(nameEnd - 1) === BACKSLASH ||
    !text.startsWith(VERS_KEY, nameEnd)
  ) {
    return null;
  }
  const versStart = nameEnd + VERS_KEY.length;
  const versEnd = text.indexOf('"', versStart);
  if (versEnd === -1 || versEnd >= last) return null;
  const version = text.slice(versStart, versEnd);
  if (version.includes("\\") || text.charCodeAt(versEnd + 1) !== 0x2c /* , */) return null;
  // Tail: plain values after the last nested `}` (a `}` inside a tail string only makes the tail fail to parse).
  const lastClose = text.lastIndexOf("}", last - 1);
  if (lastClose <= versEnd || !readTail(text, lastClose + 1, last) || tail.yanked === null) return null;
  // `\u` escapes can spell a key's letters unseen (`"pubtim\u0065"`): lines with one where it matters take the exact
  // path. With a pubtime in the tail only the tail matters (another one in the middle would be a duplicate); without,
  // one could be hiding in the middle too, as a key among the nested values. A tail read by JSON.parse has had its
  // escapes read already.
  if (tail.pubtime !== undefined) {
    if (tail.escapesUnread && text.slice(lastClose, contentEnd).includes("\\u")) return null;
  } else if (
    middle.pubtime.occursIn(versEnd, lastClose) ||
    middle.escape.occursIn(versEnd, tail.escapesUnread ? contentEnd : lastClose)
  ) {
    return null;
  }
  const pubtime = typeof tail.pubtime === "string" ? parsePubtime(tail.pubtime) : null;
  return { start, end, version, yanked: tail.yanked, pubtime, hasPubtimeKey: tail.pubtime !== undefined };
}

/** Reads the tail between `at` (just after the last nested `}`) and `closing` (the final `}`) into `tail`. */
type TailReading = (text: string, at: number, closing: number) => boolean;

/**
 * What a tail reader found; one object reused for every line (scanning is not re-entrant). `pubtime` is undefined
 * when absent, `null` when present but not a string. `escapesUnread` says whether keys were compared as written, so
 * that a `\u` escape could have hidden one.
 */
const tail = { yanked: null as boolean | null, pubtime: undefined as string | null | undefined, escapesUnread: true };

/**
 * Parses `,"key":value` pairs of plain values (strings, true, false, null, digits) from `at` up to `closing` into
 * `tail`. False when anything else is there, or `vers`/`yanked`/`pubtime` repeat. Keys are compared in place, never
 * copied: the caller sends lines with `\u` escapes (the only way to spell a key's letters otherwise) to the exact path.
 */
function readTailByPosition(text: string, at: number, closing: number): boolean {
  tail.yanked = null;
  tail.pubtime = undefined;
  tail.escapesUnread = true;
  let position = at;
  while (position < closing) {
    if (text.charCodeAt(position) !== 0x2c || text.charCodeAt(position + 1) !== QUOTE) return false;
    const keyStart = position + 2;
    const keyEnd = text.indexOf('"', keyStart);
    if (keyEnd === -1 || keyEnd >= closing || text.charCodeAt(keyEnd + 1) !== 0x3a /* : */) return false;
    const keyLength = keyEnd - keyStart;
    const valueStart = keyEnd + 2;
    let valueEnd: number;
    let value: boolean | null | undefined;
    const first = text.charCodeAt(valueStart);
    if (first === QUOTE) {
      valueEnd = text.indexOf('"', valueStart + 1);
      if (valueEnd === -1 || valueEnd >= closing) return false;
      valueEnd++;
    } else if (text.startsWith("true", valueStart)) {
      value = true;
      valueEnd = valueStart + 4;
    } else if (text.startsWith("false", valueStart)) {
      value = false;
      valueEnd = valueStart + 5;
    } else if (text.startsWith("null", valueStart)) {
      value = null;
      valueEnd = valueStart + 4;
    } else {
      valueEnd = valueStart;
      while (valueEnd < closing && text.charCodeAt(valueEnd) >= 0x30 && text.charCodeAt(valueEnd) <= 0x39) valueEnd++;
      if (valueEnd === valueStart) return false;
    }
    if (keyLength === 6 && text.startsWith("yanked", keyStart)) {
      if (tail.yanked !== null || typeof value !== "boolean") return false;
      tail.yanked = value;
    } else if (keyLength === 7 && text.startsWith("pubtime", keyStart)) {
      if (tail.pubtime !== undefined) return false;
      tail.pubtime = first === QUOTE ? text.slice(valueStart + 1, valueEnd - 1) : null;
    } else if (keyLength === 4 && text.startsWith("vers", keyStart)) {
      // A second `vers` is a duplicate: cargo refuses the line; JSON.parse would take it. The exact path decides.
      return false;
    }
    position = valueEnd;
  }
  return position === closing;
}

/**
 * Reads the tail as the object `{` + its members + `}` with one JSON.parse. False when it does not start with `,` or
 * does not parse, when `yanked` is not a boolean, or when it holds `vers` (a duplicate: the exact path decides).
 *
 * Why a tail that parses is the line's own last members, on a valid line: if the last nested `}` sat inside a string,
 * the tail's first `"` closes that string on the line but opens a key here, so every later string is read inside out
 * against the line; the line ends outside any string, this reading inside one, and JSON.parse fails. If it closed an
 * object nested deeper than a top-level value, the array around that object closes within the tail (a `}` cannot:
 * that one was the last), and a `]` without its `[` fails too. What remains is a top-level value's `}`, after which
 * only the top-level members follow.
 */
function readTailByJsonParse(text: string, at: number, closing: number): boolean {
  tail.escapesUnread = false;
  if (text.charCodeAt(at) !== 0x2c /* , */) return false;
  let members: { yanked?: unknown; pubtime?: unknown; vers?: unknown };
  try {
    members = JSON.parse(`{${text.slice(at + 1, closing + 1)}`) as typeof members;
  } catch {
    return false;
  }
  // Plain property reads: JSON.parse makes own properties only, and no Object.prototype property bears these names.
  if (typeof members.yanked !== "boolean" || members.vers !== undefined) return false;
  tail.yanked = members.yanked;
  const pubtime = members.pubtime;
  tail.pubtime = pubtime === undefined ? undefined : typeof pubtime === "string" ? pubtime : null;
  return true;
}

function exactLine(text: string, start: number, end: number, contentEnd: number): IndexLine {
  let entry: unknown;
  try {
    entry = JSON.parse(text.slice(start, contentEnd));
  } catch {
    // Whether the writer wrote pubtime still counts for the pre-pubtime inference: keep it off on a guess.
    return unreadable(start, end, text.slice(start, contentEnd).includes('"pubtime"'));
  }
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) return unreadable(start, end, false);
  // Plain property reads (no Object.hasOwn calls, which cost where calls are dear): JSON.parse makes own properties
  // only, never with the value undefined, and no Object.prototype property bears these names.
  const fields = entry as { vers?: unknown; yanked?: unknown; pubtime?: unknown };
  const pubtime = fields.pubtime;
  const hasPubtimeKey = pubtime !== undefined;
  const vers = fields.vers;
  if (typeof vers !== "string") return unreadable(start, end, hasPubtimeKey);
  // cargo treats a missing `yanked` as false; any other non-boolean makes the line unreadable for cargo too.
  const yanked = fields.yanked === undefined ? false : fields.yanked;
  if (typeof yanked !== "boolean") return unreadable(start, end, hasPubtimeKey);
  return {
    start,
    end,
    version: vers,
    yanked,
    pubtime: typeof pubtime === "string" ? parsePubtime(pubtime) : null,
    hasPubtimeKey,
  };
}

function unreadable(start: number, end: number, hasPubtimeKey: boolean): IndexLine {
  return { start, end, version: null, yanked: false, pubtime: null, hasPubtimeKey };
}
