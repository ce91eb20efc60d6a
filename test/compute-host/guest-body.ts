/**
 * A body as the guest sees it through handles. Backend and cached bodies arrive whole (the host buffers them), so a
 * read never has to wait; a body that broke off keeps its failure and hands it to the guest once the bytes before it
 * are read, as Viceroy's streaming body does (HTTPINCOMPLETE for a truncated body, ERROR for a timeout or bad gzip).
 */
import { HostcallError, Status } from "./fastly-status.ts";
import type { BodyFailure, SelectWait } from "./host-protocol.ts";

/** Where written bytes go instead of the buffer: a streamed downstream response, or a cache insertion. */
export interface BodySink {
  write(data: Uint8Array): void;
  /** `failure` set when the bytes appended came from a body that broke off. */
  close(failure: BodyFailure | null): void;
}

/** Where a body being written elsewhere comes from (a Core Cache object still streaming in). */
export interface BodySource {
  /** The next bytes, blocking until some come; `done` at the end; `failed` when the body broke off. */
  pull(): { data: Uint8Array; done: boolean; failed: boolean };
  /** What `async_io.select` waits on until a read would answer at once; null when it would now. */
  wait(): SelectWait | null;
}

/** Viceroy: a cached body whose writer never finished it is an unfinished streaming body (ERROR). */
export const UNFINISHED_CACHED_BODY: BodyFailure = {
  status: Status.ERROR,
  message: "the cached body was never finished",
};

export class Body {
  private chunks: Uint8Array[] = [];
  private bytes = 0;
  failure: BodyFailure | null = null;
  /** Declared length (Content-Length of a backend body), or null to use the bytes held. */
  declaredLength: number | null = null;
  /** Backend bodies whose length was not declared report none (streamed, as in Viceroy). */
  lengthUnknown = false;
  sink: BodySink | null = null;
  /** More bytes to come from elsewhere (read on demand). */
  source: BodySource | null = null;

  constructor(data?: Uint8Array) {
    if (data !== undefined && data.length > 0) this.push(data);
  }

  get length(): number {
    return this.bytes;
  }

  push(data: Uint8Array): void {
    if (data.length === 0) return;
    if (this.sink !== null) {
      this.sink.write(data);
      return;
    }
    this.chunks.push(data);
    this.bytes += data.length;
  }

  pushFront(data: Uint8Array): void {
    if (data.length === 0) return;
    this.chunks.unshift(data);
    this.bytes += data.length;
  }

  /** Up to `max` bytes; an empty array at the end; throws the failure once the bytes before it are gone. */
  read(max: number): Uint8Array {
    if (this.chunks.length === 0) this.pull();
    const first = this.chunks[0];
    if (first === undefined) {
      if (this.failure !== null) throw new HostcallError(this.failure.status, this.failure.message);
      return new Uint8Array(0);
    }
    if (first.length <= max) {
      this.chunks.shift();
      this.bytes -= first.length;
      return first;
    }
    this.chunks[0] = first.subarray(max);
    this.bytes -= max;
    return first.subarray(0, max);
  }

  /** Everything left, removing it: the caller owns the bytes (the one chunk itself when there is one, no copy). */
  drain(): Uint8Array {
    while (this.source !== null) this.pull();
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = [];
    this.bytes = 0;
    return all;
  }

  /** Takes the next bytes from the source, if any (blocking until they come). */
  private pull(): void {
    const source = this.source;
    if (source === null) return;
    const { data, done, failed } = source.pull();
    if (data.length > 0) {
      this.chunks.push(data);
      this.bytes += data.length;
    }
    if (done) {
      this.source = null;
      if (failed) this.failure = UNFINISHED_CACHED_BODY;
    }
  }

  /** Everything left, keeping it (for stream-back bodies read later). */
  snapshot(): Uint8Array {
    return Buffer.concat(this.chunks);
  }

  /** What select waits on before a read of this body answers at once; null when it would now. */
  waitForData(): SelectWait | null {
    return this.chunks.length === 0 && this.source !== null ? this.source.wait() : null;
  }

  knownLength(): number | null {
    if (this.sink !== null || this.lengthUnknown || (this.source !== null && this.declaredLength === null)) return null;
    return this.declaredLength ?? this.bytes;
  }
}

/**
 * Bytes in an ArrayBuffer of their own, to be moved to the main thread rather than copied: the same array when it
 * fills its buffer (bytes written by the guest, or received from the main thread, belong to one body), else a copy of
 * just these bytes (a view into a pooled or larger buffer would clone all of it). Empty bytes get a new buffer: an
 * empty one may be shared.
 */
export function ownBuffer(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const whole =
    bytes.byteLength > 0 &&
    bytes.buffer instanceof ArrayBuffer &&
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength;
  return whole ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}
