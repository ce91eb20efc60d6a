/**
 * One memory bound shared by every in-memory cache of a process (`serve --cache-memory`): the upstream cache and the
 * cache of filtered answers charge every byte they keep to it — bodies as stored, compressed copies, headers, keys,
 * and a fixed allowance per entry for its bookkeeping — and when the sum goes over the bound, the entry used least
 * recently, in whichever cache, is dropped until it fits again.
 */
export class CacheMemory {
  private used = 0;
  private uses = 0;
  private readonly members: CacheMemoryMember[] = [];

  constructor(
    /** The bound, in bytes. */
    readonly limitBytes: number,
  ) {
    if (!Number.isSafeInteger(limitBytes) || limitBytes < 0)
      throw new RangeError(`bad cache memory bound ${limitBytes}`);
  }

  /** Bytes charged now, every cache together. */
  get usedBytes(): number {
    return this.used;
  }

  /** A single entry larger than this is never kept: it would push out a sixteenth of everything else at once. */
  get maxEntryBytes(): number {
    return Math.floor(this.limitBytes / 16);
  }

  /** Adds a cache whose entries compete for the bound. */
  join(member: CacheMemoryMember): void {
    this.members.push(member);
  }

  /** A use counter, increasing with every call: caches stamp an entry with it whenever the entry is used. */
  use(): number {
    return ++this.uses;
  }

  /** Counts `bytes` more, then evicts least recently used entries until the total fits the bound. */
  charge(bytes: number): void {
    this.used += bytes;
    while (this.used > this.limitBytes) {
      let victim: CacheMemoryMember | undefined;
      let oldest = Number.POSITIVE_INFINITY;
      for (const member of this.members) {
        const use = member.oldestUse();
        if (use !== undefined && use < oldest) {
          oldest = use;
          victim = member;
        }
      }
      if (victim === undefined) return;
      victim.evictOldest();
    }
  }

  /** Counts `bytes` less (an entry was dropped or replaced). */
  release(bytes: number): void {
    this.used -= bytes;
  }
}

/** What a cache shows the shared bound. */
export interface CacheMemoryMember {
  /** The use stamp of this cache's least recently used entry; undefined when it holds none. */
  oldestUse(): number | undefined;
  /** Drops the least recently used entry, releasing its bytes. */
  evictOldest(): void;
}

/** What every entry costs beyond the bytes it holds: its Map slot, its objects, their fields. */
export const ENTRY_OVERHEAD_BYTES = 1024;

/**
 * `serve`'s default bound. Under a heavy churn the runtime itself takes ~300 MB beyond it (V8's heap with its garbage
 * and headroom, which grows with the number of entries kept, buffers in flight, code), so the process peaks near
 * 370 MB, under the 450 MB bar (bench/memory.bench.ts).
 */
export const DEFAULT_CACHE_MEMORY_BYTES = 64 * 1024 * 1024;

/** Bytes a string takes at most in V8 (two per UTF-16 unit; most header text is one-byte and takes half). */
export function stringBytes(text: string): number {
  return 2 * text.length;
}

/** `256MB`, `1.5GiB`, `300000000`: a byte count from a flag (M/MB/MiB are all 2^20; K, G likewise). */
export function parseByteSize(text: string): number | null {
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?$/i.exec(text.trim());
  if (match === null) return null;
  const unit = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(match[2] as string).toLowerCase()] as number;
  const bytes = Math.floor(Number(match[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : null;
}

/**
 * The bytes as one buffer of exactly their size, owning its memory. A chunk from a socket or from zlib is often a view
 * into a larger block (a 64 KiB read buffer, a 16 KiB output chunk, Node's shared 8 KiB pool): kept as is, a small
 * cached body would hold that whole block alive, unseen by any count.
 */
export function exactCopy(chunks: readonly Uint8Array[], size: number): Buffer {
  const only = chunks.length === 1 ? chunks[0] : undefined;
  if (only !== undefined && only.byteOffset === 0 && only.buffer.byteLength === size && Buffer.isBuffer(only))
    return only;
  const copy = Buffer.allocUnsafeSlow(size);
  let offset = 0;
  for (const chunk of chunks) {
    copy.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return copy;
}
