import { Writable } from "node:stream";
// undici's index does not re-export the cache types by name; this path is type-only and erased at runtime.
import type CacheInterceptor from "undici/types/cache-interceptor";
import {
  type CacheMemory,
  type CacheMemoryMember,
  ENTRY_OVERHEAD_BYTES,
  exactCopy,
  stringBytes,
} from "./cache-memory.ts";

type CacheStore = CacheInterceptor.CacheStore;
type CacheKey = CacheInterceptor.CacheKey;
type CacheValue = CacheInterceptor.CacheValue;
type GetResult = CacheInterceptor.GetResult;

/** One stored response: what undici's cache handed over, its body chunks, and what it costs. */
interface StoredResponse {
  readonly method: string;
  readonly value: CacheValue;
  readonly body: readonly Buffer[];
  readonly bytes: number;
}

/** Every stored variant of one URL: the unit of recency and of eviction. */
interface UrlEntry {
  variants: StoredResponse[];
  bytes: number;
  lastUse: number;
}

/**
 * undici's RFC 9111 cache store, in memory, charged to a shared `CacheMemory`. undici's own MemoryCacheStore (up to
 * 7.30) cannot be bounded: its eviction splices `entries.length / 2` entries per URL, which is 0 when a URL has one
 * entry (fixed in undici 8, nodejs/undici#5737, which needs Node 22), it keeps expired variants next to their
 * replacements, and it counts body bytes only. This store evicts whole URLs, least recently used first across every
 * cache sharing the bound, drops a URL's expired variants whenever it stores a new one, and counts the body chunks,
 * the key, the headers and a per-entry allowance.
 */
export class BoundedMemoryCacheStore implements CacheStore, CacheMemoryMember {
  /** URL key → its variants; Map order is recency order (least recently used first). */
  private readonly urls = new Map<string, UrlEntry>();
  private bytes = 0;

  constructor(private readonly memory: CacheMemory) {
    memory.join(this);
  }

  get(key: CacheKey): GetResult | undefined {
    const urlKey = urlKeyOf(key);
    const entry = this.urls.get(urlKey);
    if (entry === undefined) return undefined;
    const now = Date.now();
    const found = entry.variants.find((variant) => variant.value.deleteAt > now && matches(key, variant));
    if (found === undefined) return undefined;
    this.urls.delete(urlKey);
    this.urls.set(urlKey, entry);
    entry.lastUse = this.memory.use();
    const { value } = found;
    return {
      statusCode: value.statusCode,
      statusMessage: value.statusMessage,
      headers: value.headers,
      ...(value.vary === undefined ? {} : { vary: value.vary }),
      ...(value.etag === undefined ? {} : { etag: value.etag }),
      body: found.body,
      cacheControlDirectives: value.cacheControlDirectives ?? {},
      cachedAt: value.cachedAt,
      staleAt: value.staleAt,
      deleteAt: value.deleteAt,
    };
  }

  createWriteStream(key: CacheKey, value: CacheValue): Writable | undefined {
    const store = this;
    const chunks: Buffer[] = [];
    let size = 0;
    return new Writable({
      write(chunk: Buffer | string, encoding, callback) {
        const bytes = typeof chunk === "string" ? Buffer.from(chunk, encoding) : chunk;
        size += bytes.byteLength;
        if (size > store.memory.maxEntryBytes) {
          // Too large to keep: dropped, and the response goes on to its reader uncached.
          chunks.length = 0;
          this.destroy();
        } else {
          chunks.push(bytes);
        }
        callback(null);
      },
      final(callback) {
        store.keep(key, value, [exactCopy(chunks, size)], size);
        callback(null);
      },
    });
  }

  delete(key: CacheKey): void {
    this.drop(urlKeyOf(key));
  }

  /** Bytes this store charges to the shared bound now. */
  get size(): number {
    return this.bytes;
  }

  /** URLs held. */
  get entries(): number {
    return this.urls.size;
  }

  oldestUse(): number | undefined {
    for (const entry of this.urls.values()) return entry.lastUse;
    return undefined;
  }

  evictOldest(): void {
    for (const urlKey of this.urls.keys()) {
      this.drop(urlKey);
      return;
    }
  }

  private keep(key: CacheKey, value: CacheValue, body: Buffer[], bodyBytes: number): void {
    const urlKey = urlKeyOf(key);
    const now = Date.now();
    const stored: StoredResponse = {
      method: key.method,
      value,
      body,
      bytes: bodyBytes + stringBytes(urlKey) + headersBytes(value.headers) + headersBytes(value.vary ?? {}),
    };
    const previous = this.urls.get(urlKey);
    // The variant this one replaces (same method and Vary-selected headers) and every expired variant go.
    const variants = (previous?.variants ?? []).filter(
      (variant) => variant.value.deleteAt > now && !(variant.method === stored.method && sameVary(variant, stored)),
    );
    variants.push(stored);
    const entry: UrlEntry = {
      variants,
      bytes: ENTRY_OVERHEAD_BYTES * variants.length + variants.reduce((sum, variant) => sum + variant.bytes, 0),
      lastUse: this.memory.use(),
    };
    if (previous !== undefined) this.drop(urlKey);
    this.urls.set(urlKey, entry);
    this.bytes += entry.bytes;
    this.memory.charge(entry.bytes);
  }

  private drop(urlKey: string): void {
    const entry = this.urls.get(urlKey);
    if (entry === undefined) return;
    this.urls.delete(urlKey);
    this.bytes -= entry.bytes;
    this.memory.release(entry.bytes);
  }
}

/** The granularity of recency and eviction: every variant of one URL. */
function urlKeyOf(key: CacheKey): string {
  return `${key.origin}:${key.path}`;
}

function matches(key: CacheKey, variant: StoredResponse): boolean {
  if (variant.method !== key.method) return false;
  const vary = variant.value.vary;
  if (vary === undefined) return true;
  for (const [name, value] of Object.entries(vary)) {
    if (!sameHeaderValue(key.headers?.[name], value)) return false;
  }
  return true;
}

function sameVary(a: StoredResponse, b: StoredResponse): boolean {
  const names = new Set([...Object.keys(a.value.vary ?? {}), ...Object.keys(b.value.vary ?? {})]);
  for (const name of names) if (!sameHeaderValue(a.value.vary?.[name], b.value.vary?.[name])) return false;
  return true;
}

function sameHeaderValue(a: string | string[] | null | undefined, b: string | string[] | null | undefined): boolean {
  if (a == null || b == null) return a == null && b == null;
  if (Array.isArray(a) || Array.isArray(b)) {
    const [x, y] = [[a].flat(), [b].flat()];
    return x.length === y.length && x.every((value, index) => value === y[index]);
  }
  return a === b;
}

function headersBytes(headers: Record<string, string | string[] | null>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(headers)) {
    bytes += stringBytes(name);
    for (const one of [value ?? ""].flat()) bytes += stringBytes(one);
  }
  return bytes;
}
