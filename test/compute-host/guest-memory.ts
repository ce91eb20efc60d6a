import { HostcallError, Status } from "./fastly-status.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/**
 * Reads and writes the guest's linear memory. Views are rebuilt whenever the memory has grown (its buffer object
 * changes), so a view is never stale after the guest calls `memory.grow`.
 */
export class GuestMemory {
  private buffer: ArrayBuffer | undefined;
  private view!: DataView;
  private bytes!: Uint8Array;
  private memory: WebAssembly.Memory | undefined;

  /** The instance's exported memory, known only once instantiated (the imports are built before). */
  attach(memory: WebAssembly.Memory): void {
    this.memory = memory;
  }

  private refresh(): void {
    if (this.memory === undefined) throw new Error("compute-host: guest memory used before instantiation");
    if (this.buffer !== this.memory.buffer) {
      this.buffer = this.memory.buffer;
      this.view = new DataView(this.buffer);
      this.bytes = new Uint8Array(this.buffer);
    }
  }

  /** The memory's size now, in bytes. */
  byteLength(): number {
    this.refresh();
    return this.bytes.byteLength;
  }

  u8(ptr: number): number {
    this.refresh();
    return this.view.getUint8(ptr);
  }
  u32(ptr: number): number {
    this.refresh();
    return this.view.getUint32(ptr, true);
  }
  u64(ptr: number): bigint {
    this.refresh();
    return this.view.getBigUint64(ptr, true);
  }
  setU8(ptr: number, value: number): void {
    this.refresh();
    this.view.setUint8(ptr, value);
  }
  setU16(ptr: number, value: number): void {
    this.refresh();
    this.view.setUint16(ptr, value, true);
  }
  setU32(ptr: number, value: number): void {
    this.refresh();
    this.view.setUint32(ptr, value >>> 0, true);
  }
  setI64(ptr: number, value: bigint | number): void {
    this.refresh();
    this.view.setBigInt64(ptr, BigInt(value), true);
  }
  setU64(ptr: number, value: bigint | number): void {
    this.refresh();
    this.view.setBigUint64(ptr, BigInt(value), true);
  }

  /** A copy of `len` bytes at `ptr`. */
  read(ptr: number, len: number): Uint8Array {
    this.refresh();
    if (ptr + len > this.bytes.length) throw new HostcallError(Status.INVAL, "pointer out of bounds");
    return this.bytes.slice(ptr, ptr + len);
  }
  /** UTF-8 text (witx `string`): invalid UTF-8 is INVAL, as wiggle's GuestError::InvalidUtf8. */
  string(ptr: number, len: number): string {
    try {
      return utf8.decode(this.read(ptr, len));
    } catch {
      throw new HostcallError(Status.INVAL, "invalid UTF-8");
    }
  }
  /** Bytes as a latin1 string (header names and values are bytes, not text). */
  latin1(ptr: number, len: number): string {
    return Buffer.from(this.read(ptr, len)).toString("latin1");
  }
  write(ptr: number, data: Uint8Array): void {
    this.refresh();
    if (ptr + data.length > this.bytes.length) throw new HostcallError(Status.INVAL, "pointer out of bounds");
    this.bytes.set(data, ptr);
  }

  /**
   * Writes `data` into a guest buffer of `capacity` bytes, or — when it does not fit — writes the length it needs to
   * `nwrittenPtr` and fails with BUFLEN, as every Viceroy getter does; the runtime then retries with a larger buffer.
   */
  writeFitting(data: Uint8Array, ptr: number, capacity: number, nwrittenPtr: number): void {
    if (data.length > capacity) {
      this.setU32(nwrittenPtr, data.length);
      throw new HostcallError(Status.BUFLEN, "buffer too small");
    }
    this.write(ptr, data);
    this.setU32(nwrittenPtr, data.length);
  }

  /**
   * A NUL-terminated list from `cursor` (header names, header values), Viceroy's `MultiValueWriter`: as many whole
   * items as fit; the ending cursor is -1 when every remaining item was written, else the index of the first item left
   * out; when not even the first item fits, BUFLEN with that item's size (+1 for its NUL) in nwritten.
   */
  writeMultiValue(
    items: readonly Uint8Array[],
    buf: number,
    bufLen: number,
    cursor: number,
    endingCursorPtr: number,
    nwrittenPtr: number,
  ): void {
    let offset = 0;
    let index = cursor;
    let finished = true;
    for (; index < items.length; index++) {
      const item = items[index]!;
      if (offset + item.length + 1 > bufLen) {
        if (offset === 0) {
          this.setU32(nwrittenPtr, item.length + 1);
          if (endingCursorPtr !== 0) this.setI64(endingCursorPtr, -1);
          throw new HostcallError(Status.BUFLEN, "buffer too small for one item");
        }
        finished = false;
        break;
      }
      this.write(buf + offset, item);
      this.setU8(buf + offset + item.length, 0);
      offset += item.length + 1;
    }
    this.setU32(nwrittenPtr, offset);
    if (endingCursorPtr !== 0) this.setI64(endingCursorPtr, finished ? -1 : index);
  }
}

export function latin1Bytes(text: string): Uint8Array {
  return Buffer.from(text, "latin1");
}

export function utf8Bytes(text: string): Uint8Array {
  return encoder.encode(text);
}
