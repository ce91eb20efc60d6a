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
  /** Whether the line carries a top-level `pubtime` key at all (for an unreadable line: any `"pubtime"` text). */
  readonly hasPubtimeKey: boolean;
}

export interface ScannedIndexFile {
  readonly text: string;
  readonly lines: readonly IndexLine[];
  /** Lines without a valid `pubtime` (unreadable lines included); the timestamp store is needed only when > 0. */
  readonly linesWithoutPubtime: number;
  /** Lines that carry a `pubtime` key, valid or not (see `IndexLine.hasPubtimeKey`). */
  readonly linesWithPubtimeKey: number;
}

/** Needles for the fast path. Each is a whole JSON key including its quotes. */
const VERS = '"vers"';
const YANKED = '"yanked"';
const PUBTIME = '"pubtime"';
/** A `\u` escape could spell a key in a way the needles do not see; such lines take the exact path. */
const UNICODE_ESCAPE = "\\u";

/**
 * Finds occurrences of one needle line by line without rescanning: the cursor holds the next occurrence in the whole
 * text, so each needle is searched once per occurrence, never once per line (a missing `pubtime` costs nothing).
 */
class NeedleCursor {
  next: number;
  constructor(
    private readonly text: string,
    private readonly needle: string,
  ) {
    this.next = this.find(0);
  }
  private find(from: number): number {
    const at = this.text.indexOf(this.needle, from);
    return at === -1 ? Number.POSITIVE_INFINITY : at;
  }
  /** Counts occurrences that start before `end`, returning the first one (or -1); advances past them. */
  take(end: number): { first: number; count: number } {
    let first = -1;
    let count = 0;
    while (this.next < end) {
      if (count === 0) first = this.next;
      count++;
      this.next = this.find(this.next + this.needle.length);
    }
    return { first, count };
  }
}

/**
 * Reads `vers`, `yanked` and `pubtime` from every line of an index file.
 *
 * Fast path. In JSON a key can only be spelled with its literal characters or with `\u` escapes, and `"vers"` cannot
 * occur inside a string value without escaped quotes. A line takes the fast path when it has no `\u` escape, starts
 * with `{` and ends with `}`, holds exactly one `"vers"` followed by `:"` before the first nested `{`/`[`, and at most
 * one `"yanked"` (followed by `:true`/`:false`) and one `"pubtime"`, each after the last nested `}`/`]`. Then, for a
 * line that is valid JSON, those are the top-level fields and their values can be sliced out — which is how crates.io
 * writes every line (`name, vers, deps, cksum, features, …, yanked, …, pubtime, v`). Every other line takes
 * `JSON.parse`. So on valid JSON the result always equals a full parse. A line that is not valid JSON but passes the
 * fast path's checks is read by its fields; cargo cannot parse such a line and skips it, so keeping or dropping it
 * shows cargo nothing either way.
 */
export function scanIndexFile(text: string): ScannedIndexFile {
  const lines: IndexLine[] = [];
  const vers = new NeedleCursor(text, VERS);
  const yanked = new NeedleCursor(text, YANKED);
  const pubtime = new NeedleCursor(text, PUBTIME);
  const escapes = new NeedleCursor(text, UNICODE_ESCAPE);
  let withoutPubtime = 0;
  let withPubtimeKey = 0;
  let start = 0;
  while (start < text.length) {
    const newline = text.indexOf("\n", start);
    const contentEnd = newline === -1 ? text.length : newline;
    const end = newline === -1 ? text.length : newline + 1;
    const v = vers.take(contentEnd);
    const y = yanked.take(contentEnd);
    const p = pubtime.take(contentEnd);
    const e = escapes.take(contentEnd);
    const line =
      (e.count === 0 && fastLine(text, start, end, v, y, p)) || exactLine(text, start, end, contentEnd, p.count > 0);
    if (line.pubtime === null) withoutPubtime++;
    if (line.hasPubtimeKey) withPubtimeKey++;
    lines.push(line);
    start = end;
  }
  return { text, lines, linesWithoutPubtime: withoutPubtime, linesWithPubtimeKey: withPubtimeKey };
}

type Hits = { first: number; count: number };

function fastLine(text: string, start: number, end: number, v: Hits, y: Hits, p: Hits): IndexLine | null {
  if (v.count !== 1 || y.count > 1 || p.count > 1) return null;
  const last = lastContentChar(text, start, end);
  // A cut-off line (truncated body) must not be read as an entry; cargo could not parse it either.
  if (text.charCodeAt(start) !== 0x7b /* { */ || text.charCodeAt(last) !== 0x7d /* } */) return null;
  // `vers` before anything nested opens, `yanked`/`pubtime` after everything nested closed: all three are then keys
  // of the outermost object. A bracket inside a string only makes these checks stricter.
  if (v.first > firstNestedOpen(text, start)) return null;
  const lastClose = lastNestedClose(text, start, last);
  if ((y.count === 1 && y.first < lastClose) || (p.count === 1 && p.first < lastClose)) return null;
  // The needle's opening quote must delimit a key (after `{` or `,`), not be an escaped quote inside a string.
  if (!opensKey(text, v.first) || (y.count === 1 && !opensKey(text, y.first)) || (p.count === 1 && !opensKey(text, p.first))) {
    return null;
  }
  const version = stringValueAfterKey(text, v.first + VERS.length, last);
  if (version === null) return null;
  let isYanked = false;
  if (y.count === 1) {
    const at = y.first + YANKED.length;
    if (text.startsWith(":false", at)) isYanked = false;
    else if (text.startsWith(":true", at)) isYanked = true;
    else return null;
  }
  let published: UnixSeconds | null = null;
  if (p.count === 1) {
    const raw = stringValueAfterKey(text, p.first + PUBTIME.length, last);
    if (raw === null) return null;
    published = parsePubtime(raw);
  }
  return { start, end, version, yanked: isYanked, pubtime: published, hasPubtimeKey: p.count === 1 };
}

/** Offset of the first `{` or `[` after the line's opening brace (the search may run past the line: that is fine). */
function firstNestedOpen(text: string, start: number): number {
  const brace = text.indexOf("{", start + 1);
  const bracket = text.indexOf("[", start + 1);
  return Math.min(brace === -1 ? Number.POSITIVE_INFINITY : brace, bracket === -1 ? Number.POSITIVE_INFINITY : bracket);
}

/** Offset of the last `}` or `]` before the line's closing brace, or -1 when there is none in the line. */
function lastNestedClose(text: string, start: number, closing: number): number {
  if (closing - 1 < start) return -1;
  const close = Math.max(text.lastIndexOf("}", closing - 1), text.lastIndexOf("]", closing - 1));
  return close < start ? -1 : close;
}

function lastContentChar(text: string, start: number, end: number): number {
  let at = end - 1;
  while (at > start && (text.charCodeAt(at) === 0x0a || text.charCodeAt(at) === 0x0d)) at--;
  return at;
}

function opensKey(text: string, at: number): boolean {
  const before = text.charCodeAt(at - 1);
  return before === 0x2c /* , */ || before === 0x7b /* { */;
}

/**
 * The string after `:"` at `at`, if it is a plain string without escapes that closes before `limit`; `null` sends the
 * line to the exact path.
 */
function stringValueAfterKey(text: string, at: number, limit: number): string | null {
  if (text.charCodeAt(at) !== 0x3a /* : */ || text.charCodeAt(at + 1) !== 0x22 /* " */) return null;
  const close = text.indexOf('"', at + 2);
  if (close === -1 || close >= limit) return null;
  const value = text.slice(at + 2, close);
  return value.includes("\\") ? null : value;
}

function exactLine(text: string, start: number, end: number, contentEnd: number, pubtimeText: boolean): IndexLine {
  let entry: unknown;
  try {
    entry = JSON.parse(text.slice(start, contentEnd));
  } catch {
    // Whether the writer wrote pubtime still counts for the pre-pubtime inference: keep it off on a guess.
    return unreadable(start, end, pubtimeText);
  }
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) return unreadable(start, end, false);
  const fields = entry as Record<string, unknown>;
  const hasPubtimeKey = Object.hasOwn(fields, "pubtime");
  const vers = Object.hasOwn(fields, "vers") ? fields.vers : undefined;
  if (typeof vers !== "string") return unreadable(start, end, hasPubtimeKey);
  // cargo treats a missing `yanked` as false; any other non-boolean makes the line unreadable for cargo too.
  const yanked = Object.hasOwn(fields, "yanked") ? fields.yanked : false;
  if (typeof yanked !== "boolean") return unreadable(start, end, hasPubtimeKey);
  const published = hasPubtimeKey && typeof fields.pubtime === "string" ? parsePubtime(fields.pubtime) : null;
  return { start, end, version: vers, yanked, pubtime: published, hasPubtimeKey };
}

function unreadable(start: number, end: number, hasPubtimeKey: boolean): IndexLine {
  return { start, end, version: null, yanked: false, pubtime: null, hasPubtimeKey };
}
