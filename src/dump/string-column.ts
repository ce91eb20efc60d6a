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
