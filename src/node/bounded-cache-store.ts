import type { Writable } from "node:stream";
import { cacheStores } from "undici";
// undici's index does not re-export the cache types by name; this path is type-only and erased at runtime.
import type CacheInterceptor from "undici/types/cache-interceptor";

type CacheStore = CacheInterceptor.CacheStore;
type CacheKey = CacheInterceptor.CacheKey;
type CacheValue = CacheInterceptor.CacheValue;

export interface CacheBounds {
  /** Distinct upstream URLs kept; the least recently used go first. */
  readonly maxEntries: number;
  /** Total stored body bytes (as stored: compressed when upstream sent them compressed). */
  readonly maxBytes: number;
  /** A single body larger than this is never stored. */
  readonly maxEntryBytes: number;
}

export const DEFAULT_CACHE_BOUNDS: CacheBounds = {
  maxEntries: 50_000,
  maxBytes: 256 * 1024 * 1024,
  maxEntryBytes: 16 * 1024 * 1024,
};

/**
 * undici's MemoryCacheStore with working limits. Up to undici 7.30 its eviction splices `entries.length / 2` entries
 * per URL, which is 0 when a URL has one entry, so `maxSize`/`maxCount` never bite and memory grows with every crate
 * seen (fixed in undici 8, nodejs/undici#5737, which needs Node 22). Here the inner store's limits are lifted and
 * whole URLs are evicted least-recently-used first through its public `delete` and `size`.
 */
export class BoundedMemoryCacheStore implements CacheStore {
  private readonly inner: InstanceType<typeof cacheStores.MemoryCacheStore>;
  /** URL key → a key to delete it by; Map order is recency order (oldest first). */
  private readonly recency = new Map<string, CacheKey>();

  constructor(private readonly bounds: CacheBounds = DEFAULT_CACHE_BOUNDS) {
    this.inner = new cacheStores.MemoryCacheStore({
      maxCount: Number.MAX_SAFE_INTEGER,
      maxSize: Number.MAX_SAFE_INTEGER,
      maxEntrySize: bounds.maxEntryBytes,
    });
  }

  get(key: CacheKey): ReturnType<CacheStore["get"]> {
    const result = this.inner.get(key);
    if (result !== undefined) this.touch(key);
    return result;
  }

  createWriteStream(key: CacheKey, value: CacheValue): Writable | undefined {
    const stream = this.inner.createWriteStream(key, value);
    stream?.once("finish", () => {
      this.touch(key);
      this.evict();
    });
    return stream;
  }

  delete(key: CacheKey): void | Promise<void> {
    this.recency.delete(urlKeyOf(key));
    return this.inner.delete(key);
  }

  /** Bytes currently stored. */
  get size(): number {
    return (this.inner as unknown as { size: number }).size;
  }

  get entries(): number {
    return this.recency.size;
  }

  private touch(key: CacheKey): void {
    const urlKey = urlKeyOf(key);
    this.recency.delete(urlKey);
    this.recency.set(urlKey, { origin: key.origin, method: key.method, path: key.path });
  }

  private evict(): void {
    for (const [urlKey, key] of this.recency) {
      if (this.recency.size <= this.bounds.maxEntries && this.size <= this.bounds.maxBytes) return;
      this.recency.delete(urlKey);
      void this.inner.delete(key);
    }
  }
}

/** The granularity MemoryCacheStore deletes at: every variant of one URL. */
function urlKeyOf(key: CacheKey): string {
  return `${key.origin}:${key.path}`;
}
