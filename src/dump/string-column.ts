/**
 * Millions of short byte strings (version numbers, crate names) kept outside the JS heap: back to back in 1 MiB pages,
 * with a 32-bit position and a 16-bit length per entry in fixed-size blocks. As JS strings they would cost ~40 bytes
 * each and make every garbage collection walk them; here they cost their bytes plus 6, and no GC ever looks inside.
 */
export class StringColumn {
  /** Entries stored. */
  length = 0;
  private readonly positionBlocks: Uint32Array[] = [];
  private readonly lengthBlocks: Uint16Array[] = [];
  private readonly pages: Buffer[] = [];
  private pageUsed = 0;

  /** Appends `bytes[start, end)` (at most 32,767 bytes) and returns its index. */
  push(bytes: Uint8Array, start: number, end: number): number {
    const index = this.length++;
    const slot = index & BLOCK_MASK;
    if (slot === 0) {
      this.positionBlocks.push(new Uint32Array(BLOCK));
      this.lengthBlocks.push(new Uint16Array(BLOCK));
    }
    const size = end - start;
    if (size > MAX_LENGTH) throw new RangeError(`a ${size}-byte string does not fit a StringColumn`);
    if (this.pageUsed + size > PAGE || this.pages.length === 0) {
      this.pages.push(Buffer.allocUnsafe(PAGE));
      this.pageUsed = 0;
    }
    const pageIndex = this.pages.length - 1;
    const page = this.pages[pageIndex] as Buffer;
    const at = this.pageUsed;
    // Short strings: a byte loop beats a native copy call, and notes whether the text is ASCII on the way.
    let high = 0;
    for (let k = 0; k < size; k++) {
      const byte = bytes[start + k] as number;
      page[at + k] = byte;
      high |= byte;
    }
    this.pageUsed = at + size;
    (this.positionBlocks[index >>> BLOCK_BITS] as Uint32Array)[slot] = pageIndex * PAGE + at;
    (this.lengthBlocks[index >>> BLOCK_BITS] as Uint16Array)[slot] = high & 0x80 ? size | NOT_ASCII : size;
    return index;
  }

  /** Byte order of entries `a` and `b` (negative, 0, positive): SQLite's BINARY collation. */
  compareEntries(a: number, b: number): number {
    const positionA = this.positionOf(a);
    const positionB = this.positionOf(b);
    const pageA = this.pages[positionA >>> PAGE_BITS] as Buffer;
    const pageB = this.pages[positionB >>> PAGE_BITS] as Buffer;
    const offsetA = positionA & (PAGE - 1);
    const offsetB = positionB & (PAGE - 1);
    const sizeA = this.sizeOf(a);
    const sizeB = this.sizeOf(b);
    const common = Math.min(sizeA, sizeB);
    for (let k = 0; k < common; k++) {
      const d = (pageA[offsetA + k] as number) - (pageB[offsetB + k] as number);
      if (d !== 0) return d;
    }
    return sizeA - sizeB;
  }

  /** Byte order of entry `index` against `text`'s UTF-8 bytes. */
  compareWithText(index: number, text: string): number {
    const position = this.positionOf(index);
    const page = this.pages[position >>> PAGE_BITS] as Buffer;
    const offset = position & (PAGE - 1);
    const size = this.sizeOf(index);
    const common = Math.min(size, text.length);
    for (let k = 0; k < common; k++) {
      const code = text.charCodeAt(k);
      // Past ASCII, UTF-16 and UTF-8 orders part: compare real bytes (rare: crates.io names are ASCII).
      if (code > 0x7f) return Buffer.compare(page.subarray(offset, offset + size), Buffer.from(text, "utf8"));
      const d = (page[offset + k] as number) - code;
      if (d !== 0) return d;
    }
    if (size > common) return 1;
    for (let k = common; k < text.length; k++)
      if (text.charCodeAt(k) > 0x7f)
        return Buffer.compare(page.subarray(offset, offset + size), Buffer.from(text, "utf8"));
    return size - text.length;
  }

  /** Entry `index` decoded as UTF-8. */
  text(index: number): string {
    const position = (this.positionBlocks[index >>> BLOCK_BITS] as Uint32Array)[index & BLOCK_MASK] as number;
    const stored = (this.lengthBlocks[index >>> BLOCK_BITS] as Uint16Array)[index & BLOCK_MASK] as number;
    const offset = position & (PAGE - 1);
    const page = this.pages[position >>> PAGE_BITS] as SlicingBuffer;
    // Latin-1 decoding is exact for ASCII and twice as fast as UTF-8 through toString (measured).
    if ((stored & NOT_ASCII) === 0) return page.latin1Slice(offset, offset + stored);
    return page.utf8Slice(offset, offset + (stored & MAX_LENGTH));
  }

  private positionOf(index: number): number {
    return (this.positionBlocks[index >>> BLOCK_BITS] as Uint32Array)[index & BLOCK_MASK] as number;
  }

  private sizeOf(index: number): number {
    return ((this.lengthBlocks[index >>> BLOCK_BITS] as Uint16Array)[index & BLOCK_MASK] as number) & MAX_LENGTH;
  }
}

/**
 * Millions of short byte strings appended once and then regrouped once (`group`): each is a header — its length and
 * ASCII flag, one byte, two past 63 bytes — and its bytes, back to back in 1 MiB pages. No per-entry index (a
 * `StringColumn`'s costs 6 bytes an entry), and no garbage collection ever looks inside.
 */
export class StringLog {
  /** Entries stored. */
  length = 0;
  private readonly pages: Buffer[] = [];
  /** Bytes used in each page but the last. */
  private readonly used: number[] = [];
  /** Bytes used in the last page. */
  private pageUsed = PAGE;

  /** Appends `bytes[start, end)` (at most 16,383 bytes). */
  push(bytes: Uint8Array, start: number, end: number): void {
    const size = end - start;
    if (size > LOG_MAX_LENGTH) throw new RangeError(`a ${size}-byte string does not fit a StringLog`);
    if (this.pageUsed + size + 2 > PAGE) {
      if (this.pages.length > 0) this.used.push(this.pageUsed);
      this.pages.push(Buffer.allocUnsafe(PAGE));
      this.pageUsed = 0;
    }
    const page = this.pages[this.pages.length - 1] as Buffer;
    const at = this.pageUsed;
    const body = at + headerSize(size);
    let high = 0;
    for (let k = 0; k < size; k++) {
      const byte = bytes[start + k] as number;
      page[body + k] = byte;
      high |= byte;
    }
    writeHeader(page, at, size, high < 0x80);
    this.pageUsed = body + size;
    this.length++;
  }

  /**
   * The entries grouped: entry i goes to group `groups[i >>> 16][i & 0xffff]` (none when negative), after the
   * entries of that group before it. Empties the log. Reads run in entry order and each write lands at its group's
   * cursor, so neither side jumps around memory the way a gather through a permutation would (3× slower, measured).
   */
  group(groups: readonly Int32Array[], groupCount: number): PackedStrings {
    const start = new Uint32Array(groupCount + 1);
    this.forEachEntry((index, page, at) => {
      const group = (groups[index >>> 16] as Int32Array)[index & 0xffff] as number;
      if (group >= 0) start[group + 1] = (start[group + 1] as number) + entrySize(page, at);
    });
    for (let g = 0; g < groupCount; g++) start[g + 1] = (start[g + 1] as number) + (start[g] as number);
    const bytes = Buffer.allocUnsafe(start[groupCount] as number);
    const next = start.slice(0, groupCount);
    this.forEachEntry((index, page, at) => {
      const group = (groups[index >>> 16] as Int32Array)[index & 0xffff] as number;
      if (group < 0) return;
      const size = entrySize(page, at);
      const to = next[group] as number;
      for (let j = 0; j < size; j++) bytes[to + j] = page[at + j] as number;
      next[group] = to + size;
    });
    this.pages.length = 0;
    this.used.length = 0;
    this.pageUsed = PAGE;
    this.length = 0;
    return new PackedStrings(bytes as SlicingBuffer, start);
  }

  /** Each entry's index and where its header starts. */
  private forEachEntry(visit: (index: number, page: Buffer, at: number) => void): void {
    let index = 0;
    for (let p = 0; p < this.pages.length; p++) {
      const page = this.pages[p] as Buffer;
      const used = p < this.used.length ? (this.used[p] as number) : this.pageUsed;
      for (let at = 0; at < used; at += entrySize(page, at)) visit(index++, page, at);
    }
  }
}

/**
 * A `StringLog`'s entries grouped (`StringLog.group`): group g's entries, headers included, are bytes `start[g] …
 * start[g + 1]`. A group of ASCII entries decodes with one native call, each entry then a substring of it.
 */
export class PackedStrings {
  constructor(
    private readonly bytes: SlicingBuffer,
    private readonly start: Uint32Array,
  ) {}

  /** Calls `visit` with each entry of group `group` and its position in the group, in order. */
  forEachInGroup(group: number, visit: (text: string, position: number) => void): void {
    const bytes = this.bytes;
    const from = this.start[group] as number;
    const to = this.start[group + 1] as number;
    if (from === to) return;
    // Latin-1 is exact for ASCII: one string for the group, and each ASCII entry is a substring of it (no native call
    // each); the header bytes in between decode to characters no substring takes.
    const run = bytes.latin1Slice(from, to);
    let position = 0;
    for (let at = from; at < to; ) {
      let header = bytes[at++] as number;
      if (header & 0x80) header = ((header & 0x7f) << 8) | (bytes[at++] as number);
      const size = header >>> 1;
      visit(
        (header & 1) === 0 ? run.substring(at - from, at - from + size) : bytes.utf8Slice(at, at + size),
        position++,
      );
      at += size;
    }
  }
}

function headerSize(size: number): number {
  return size < 64 ? 1 : 2;
}

/** Header: length << 1 | non-ASCII, as one byte below 128, else two (the first with its top bit set). */
function writeHeader(page: Buffer, at: number, size: number, ascii: boolean): void {
  const header = (size << 1) | (ascii ? 0 : 1);
  if (size < 64) {
    page[at] = header;
  } else {
    page[at] = 0x80 | (header >>> 8);
    page[at + 1] = header & 0xff;
  }
}

/** The bytes of the entry whose header starts at `at`, header included. */
function entrySize(page: Buffer, at: number): number {
  const first = page[at] as number;
  return first & 0x80 ? 2 + ((((first & 0x7f) << 8) | (page[at + 1] as number)) >>> 1) : 1 + (first >>> 1);
}

/** A StringLog entry's length fits 14 bits (its two-byte header holds length << 1 | flag, top bit set). */
const LOG_MAX_LENGTH = 0x3fff;

const BLOCK_BITS = 16;
const BLOCK = 1 << BLOCK_BITS;
const BLOCK_MASK = BLOCK - 1;
const PAGE_BITS = 20;
const PAGE = 1 << PAGE_BITS;
/** Length bit 15 marks a string with a non-ASCII byte; lengths are 15 bits. */
const NOT_ASCII = 0x8000;
const MAX_LENGTH = 0x7fff;

/** Node's Buffer decoders without toString's argument handling (present since Node 0.x, not in @types/node). */
interface SlicingBuffer extends Buffer {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}
