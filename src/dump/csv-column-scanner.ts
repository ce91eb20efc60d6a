/**
 * A byte-level CSV scanner (RFC 4180 as PostgreSQL's `COPY … CSV` writes it) that hands over only the columns it was
 * asked for. The dump's CSVs are ~0.9 GB, most of it READMEs and JSON the ingest never reads: a general parser that
 * builds every field as a string spends its time there, this one jumps over quoted fields with `indexOf`.
 *
 * Accepted: `,` separators, `"` quoting with `""` escapes, line breaks (LF or CRLF) inside quoted fields, records
 * ending in LF or CRLF, a last record without a line break. Refused (as csv-parse refuses them): a quote inside an
 * unquoted field, text after a closing quote, a bare CR, an unterminated quoted field, a record whose field count
 * differs from the header's. Its agreement with csv-parse is proven in test/dump/csv-column-scanner.test.ts.
 */

export class CsvFormatError extends Error {
  override readonly name = "CsvFormatError";
}

/**
 * What the scanner asks once the header is read: the header's column names in file order. The answer lists, for each
 * value slot the caller will read, the column index that fills it (or throws to refuse the header).
 */
export type HeaderHandler = (columns: readonly string[]) => readonly number[];

/** Called once per data record; read the wanted fields through the scanner's slot accessors, during the call only. */
export type RecordHandler = (scanner: CsvColumnScanner) => void;

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
/** A quote ended the previous chunk inside a quoted field: the next byte says whether it was an escape. */
const QUOTE_IN_QUOTED = 3;
const AFTER_CLOSING_QUOTE = 4;
const AFTER_CR = 5;

const EMPTY = Buffer.alloc(0);
/** More header columns than this is not a dump CSV. */
const HEADER_COLUMNS_MAX = 1024;

export class CsvColumnScanner {
  /** Data records handed to the record handler so far. */
  records = 0;
  private header: string[] | null = null;
  private headerLength = 0;
  /** Column index → value slot, or -1 for a column nobody reads. */
  private slotOf: Int32Array = new Int32Array(0);
  private slotCount = 0;

  // Where each slot's value of the current record lies: (buffer, start, end).
  private readonly valueBuffer: Buffer[] = [];
  private valueStart = new Int32Array(0);
  private valueEnd = new Int32Array(0);
  /** Slots whose value spans chunks or holds `""`: it is assembled in `scratch`. */
  private spilled = new Uint8Array(0);
  private readonly scratch: Buffer[] = [];
  private scratchLength = new Int32Array(0);

  private state = FIELD_START;
  private column = 0;
  private slot = -1;
  /** Set when a value of the current record still points into the current chunk. */
  private pointsIntoChunk = false;
  private ended = false;

  constructor(
    private readonly onHeader: HeaderHandler,
    private readonly onRecord: RecordHandler,
  ) {
    // Until the header is known every column is read, into slot = column index.
    this.slotOf = Int32Array.from({ length: HEADER_COLUMNS_MAX }, (_, k) => k);
    this.ensureSlots(HEADER_COLUMNS_MAX);
    this.slot = 0;
  }

  /** The header's column names (after the first record boundary). */
  get columns(): readonly string[] | null {
    return this.header;
  }

  push(chunk: Buffer): void {
    if (this.ended) throw new Error("CsvColumnScanner.push after end");
    const n = chunk.length;
    // Hot state in locals; written back before any call that reads it and at the end.
    let state = this.state;
    let slot = this.slot;
    let column = this.column;
    let slotOf = this.slotOf;
    let width = this.header === null ? HEADER_COLUMNS_MAX : this.headerLength;
    let i = 0;
    // A field carried over from the previous chunk continues at this chunk's first byte.
    let fieldStart = 0;
    while (i < n) {
      if (state === UNQUOTED) {
        let j = i;
        let c = 0;
        // The four delimiters are all at or below the comma, and most bytes are above it: one compare for those.
        // (Four compares beat a lookup table here, measured.)
        while (j < n) {
          c = chunk[j] as number;
          if (c <= COMMA && (c === COMMA || c === LF || c === QUOTE || c === CR)) break;
          j++;
        }
        if (j === n) {
          if (slot >= 0) this.spill(slot, chunk, fieldStart, n);
          i = n;
          break;
        }
        if (slot >= 0) this.finish(slot, chunk, fieldStart, j);
        i = j + 1;
        if (c === COMMA) {
          column++;
          slot = column < width ? (slotOf[column] as number) : -1;
          // The next field starts right here: decide its kind without another trip round the loop.
          if (i < n) {
            if (chunk[i] === QUOTE) {
              state = QUOTED;
              i++;
            }
            fieldStart = i;
          } else {
            state = FIELD_START;
          }
          continue;
        }
        if (c === LF) {
          // The end of a record, written out again after a quoted field below: deliberately inlined in both places,
          // since a shared method would have to hand back the five locals this hot loop keeps in registers.
          this.column = column;
          this.endRecord();
          slotOf = this.slotOf;
          width = this.headerLength;
          column = 0;
          slot = this.slot;
          state = FIELD_START;
          continue;
        }
        if (c === QUOTE) {
          this.column = column;
          throw this.error("a quote inside an unquoted field");
        }
        state = AFTER_CR;
        continue;
      }
      if (state === QUOTED) {
        const q = chunk.indexOf(QUOTE, i);
        if (q === -1) {
          if (slot >= 0) this.spill(slot, chunk, fieldStart, n);
          i = n;
          break;
        }
        if (q + 1 === n) {
          if (slot >= 0) this.spill(slot, chunk, fieldStart, q);
          state = QUOTE_IN_QUOTED;
          i = n;
          break;
        }
        if (chunk[q + 1] === QUOTE) {
          // `""` is one quote: keep the first, skip the second.
          if (slot >= 0) this.spill(slot, chunk, fieldStart, q + 1);
          i = q + 2;
          fieldStart = i;
          continue;
        }
        if (slot >= 0) this.finish(slot, chunk, fieldStart, q);
        i = q + 1;
        state = AFTER_CLOSING_QUOTE;
        continue;
      }
      if (state === FIELD_START) {
        if (chunk[i] === QUOTE) {
          state = QUOTED;
          i++;
        } else {
          state = UNQUOTED;
        }
        fieldStart = i;
        continue;
      }
      if (state === QUOTE_IN_QUOTED) {
        if (chunk[i] === QUOTE) {
          if (slot >= 0) this.spill(slot, chunk, i, i + 1);
          i++;
          fieldStart = i;
          state = QUOTED;
        } else {
          if (slot >= 0) this.finish(slot, chunk, i, i);
          state = AFTER_CLOSING_QUOTE;
        }
        continue;
      }
      const c = chunk[i] as number;
      i++;
      if (state === AFTER_CLOSING_QUOTE && c === COMMA) {
        column++;
        slot = column < width ? (slotOf[column] as number) : -1;
        state = FIELD_START;
        continue;
      }
      if (state === AFTER_CLOSING_QUOTE && c === CR) {
        state = AFTER_CR;
        continue;
      }
      if (c !== LF) {
        this.column = column;
        throw this.error(
          state === AFTER_CR ? "a carriage return not followed by a line feed" : "text after a closing quote",
        );
      }
      // The end of a record, as in the unquoted branch above (inlined for the same reason).
      this.column = column;
      this.endRecord();
      slotOf = this.slotOf;
      width = this.headerLength;
      column = 0;
      slot = this.slot;
      state = FIELD_START;
    }
    this.state = state;
    this.slot = slot;
    this.column = column;
    // The caller may reuse the chunk's memory: values of the unfinished record move to their own buffers.
    if (this.pointsIntoChunk) this.detachFrom(chunk);
  }

  /** The input is complete: finishes a last record without a line break, refuses an unterminated quoted field. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    const state = this.state;
    if (state === QUOTED) throw this.error("an unterminated quoted field");
    if (state === FIELD_START && this.column === 0) {
      if (this.header === null) throw new CsvFormatError("the file is empty (no header row)");
      return;
    }
    if (state === AFTER_CR) throw this.error("a carriage return not followed by a line feed");
    if (this.slot >= 0 && (state === UNQUOTED || state === QUOTE_IN_QUOTED || state === FIELD_START)) {
      this.finish(this.slot, EMPTY, 0, 0);
    }
    this.endRecord();
  }

  /** The slot's value as text (UTF-8). */
  text(slot: number): string {
    return (this.valueBuffer[slot] as Buffer).toString("utf8", this.valueStart[slot], this.valueEnd[slot]);
  }

  /** The buffer holding the slot's value, from `valueStart(slot)` to `valueEnd(slot)`: no copy, no string. */
  valueBytes(slot: number): Buffer {
    return this.valueBuffer[slot] as Buffer;
  }

  valueStartOf(slot: number): number {
    return this.valueStart[slot] as number;
  }

  valueEndOf(slot: number): number {
    return this.valueEnd[slot] as number;
  }

  private endRecord(): void {
    const fields = this.column + 1;
    if (this.header === null) {
      this.acceptHeader(fields);
    } else {
      if (fields !== this.headerLength) {
        throw this.error(`a record with ${fields} fields where the header has ${this.headerLength}`);
      }
      this.records++;
      this.onRecord(this);
    }
    this.column = 0;
    this.slot = this.slotOf[0] as number;
    this.pointsIntoChunk = false;
    const spilled = this.spilled;
    const values = this.valueBuffer;
    const used = this.header === null ? spilled.length : this.slotCount;
    for (let s = 0; s < used; s++) {
      // Forget this record's values, so the next record's detach never copies a stale one.
      values[s] = EMPTY;
      if (spilled[s] !== 0) {
        spilled[s] = 0;
        this.scratchLength[s] = 0;
      }
    }
  }

  private acceptHeader(fields: number): void {
    if (fields > HEADER_COLUMNS_MAX) throw new CsvFormatError(`a header with more than ${HEADER_COLUMNS_MAX} columns`);
    const names: string[] = [];
    for (let s = 0; s < fields; s++) names.push(this.text(s));
    this.header = names;
    this.headerLength = fields;
    const wanted = this.onHeader(names);
    this.slotOf = new Int32Array(fields).fill(-1);
    wanted.forEach((column, slot) => {
      if (!(column >= 0 && column < fields)) throw new Error(`header handler chose column ${column} of ${fields}`);
      this.slotOf[column] = slot;
    });
    this.slotCount = wanted.length;
    this.ensureSlots(this.slotCount);
  }

  /** Appends part of a value to its slot's scratch buffer (the value spans chunks or holds an escaped quote). */
  private spill(slot: number, chunk: Buffer, start: number, end: number): void {
    let length = this.scratchLength[slot] as number;
    let scratch = this.scratch[slot] as Buffer;
    const needed = length + end - start;
    if (needed > scratch.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, scratch.length * 2));
      scratch.copy(grown, 0, 0, length);
      this.scratch[slot] = scratch = grown;
    }
    if (end > start) chunk.copy(scratch, length, start, end);
    length = needed;
    this.scratchLength[slot] = length;
    this.spilled[slot] = 1;
  }

  /** Sets the slot's value: the chunk range itself, or the scratch buffer with the range appended. */
  private finish(slot: number, chunk: Buffer, start: number, end: number): void {
    if (this.spilled[slot] !== 0) {
      this.spill(slot, chunk, start, end);
      this.valueBuffer[slot] = this.scratch[slot] as Buffer;
      this.valueStart[slot] = 0;
      this.valueEnd[slot] = this.scratchLength[slot] as number;
      return;
    }
    this.valueBuffer[slot] = chunk;
    this.valueStart[slot] = start;
    this.valueEnd[slot] = end;
    this.pointsIntoChunk = true;
  }

  private detachFrom(chunk: Buffer): void {
    for (let s = 0; s < this.valueBuffer.length; s++) {
      if (this.valueBuffer[s] === chunk && this.spilled[s] === 0) {
        this.scratchLength[s] = 0;
        this.spill(s, chunk, this.valueStart[s] as number, this.valueEnd[s] as number);
        this.valueBuffer[s] = this.scratch[s] as Buffer;
        this.valueStart[s] = 0;
        this.valueEnd[s] = this.scratchLength[s] as number;
      }
    }
    this.pointsIntoChunk = false;
  }

  private ensureSlots(count: number): void {
    if (count <= this.valueStart.length) return;
    const size = Math.max(count, this.valueStart.length * 2);
    const grow = <T extends Int32Array | Uint8Array>(old: T, make: (n: number) => T): T => {
      const next = make(size);
      next.set(old);
      return next;
    };
    this.valueStart = grow(this.valueStart, (n) => new Int32Array(n));
    this.valueEnd = grow(this.valueEnd, (n) => new Int32Array(n));
    this.spilled = grow(this.spilled, (n) => new Uint8Array(n));
    this.scratchLength = grow(this.scratchLength, (n) => new Int32Array(n));
    while (this.valueBuffer.length < size) this.valueBuffer.push(EMPTY);
    while (this.scratch.length < size) this.scratch.push(Buffer.allocUnsafe(64));
  }

  private error(what: string): CsvFormatError {
    const where = this.header === null ? "the header" : `record ${this.records + 1}`;
    return new CsvFormatError(`${what} in ${where}`);
  }
}
