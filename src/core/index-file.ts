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
}

export interface ScannedIndexFile {
  readonly text: string;
  readonly lines: readonly IndexLine[];
  /** Lines without a valid `pubtime` (unreadable lines included); the timestamp store is needed only when > 0. */
  readonly linesWithoutPubtime: number;
  /** Lines that carry any `pubtime` key at all, valid or not. */
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
 * Fast path: in JSON a key can only be spelled with its literal characters or with `\u` escapes, and `"vers"` etc.
 * cannot occur inside a string value without escaped quotes. So when a line has exactly one `"vers"` key followed
 * by `:"`, at most one `"yanked"` followed by `:true`/`:false`, at most one `"pubtime"`, and no `\u` escape, those
 * occurrences are the top-level fields and the values can be sliced out. Every other line (odd spacing, repeated
 * keys, nested look-alikes, escapes) takes `JSON.parse`, so the result always equals a full parse.
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
      (e.count === 0 && fastLine(text, start, end, v, y, p)) || exactLine(text, start, end, contentEnd);
    if (line.pubtime === null) withoutPubtime++;
    if (p.count > 0) withPubtimeKey++;
    lines.push(line);
    start = end;
  }
  return { text, lines, linesWithoutPubtime: withoutPubtime, linesWithPubtimeKey: withPubtimeKey };
}

type Hits = { first: number; count: number };

function fastLine(text: string, start: number, end: number, v: Hits, y: Hits, p: Hits): IndexLine | null {
  if (v.count !== 1 || y.count > 1 || p.count > 1) return null;
  // A cut-off line (truncated body) must not be read as an entry; cargo could not parse it either.
  if (text.charCodeAt(start) !== 0x7b /* { */ || text.charCodeAt(lastContentChar(text, start, end)) !== 0x7d /* } */) {
    return null;
  }
  const version = stringValueAfterKey(text, v.first + VERS.length);
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
    const raw = stringValueAfterKey(text, p.first + PUBTIME.length);
    if (raw === null) return null;
    published = parsePubtime(raw);
  }
  return { start, end, version, yanked: isYanked, pubtime: published };
}

function lastContentChar(text: string, start: number, end: number): number {
  let at = end - 1;
  while (at > start && (text.charCodeAt(at) === 0x0a || text.charCodeAt(at) === 0x0d)) at--;
  return at;
}

/** The string after `:"` at `at`, if it is a plain string without escapes; `null` sends the line to the exact path. */
function stringValueAfterKey(text: string, at: number): string | null {
  if (text.charCodeAt(at) !== 0x3a /* : */ || text.charCodeAt(at + 1) !== 0x22 /* " */) return null;
  const close = text.indexOf('"', at + 2);
  if (close === -1) return null;
  const value = text.slice(at + 2, close);
  return value.includes("\\") ? null : value;
}

function exactLine(text: string, start: number, end: number, contentEnd: number): IndexLine {
  let entry: unknown;
  try {
    entry = JSON.parse(text.slice(start, contentEnd));
  } catch {
    return unreadable(start, end);
  }
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) return unreadable(start, end);
  const fields = entry as Record<string, unknown>;
  if (typeof fields.vers !== "string") return unreadable(start, end);
  // cargo treats a missing `yanked` as false; any other non-boolean makes the line unreadable for cargo too.
  if (fields.yanked !== undefined && typeof fields.yanked !== "boolean") return unreadable(start, end);
  const published = typeof fields.pubtime === "string" ? parsePubtime(fields.pubtime) : null;
  return { start, end, version: fields.vers, yanked: fields.yanked === true, pubtime: published };
}

function unreadable(start: number, end: number): IndexLine {
  return { start, end, version: null, yanked: false, pubtime: null };
}
