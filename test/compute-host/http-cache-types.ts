/** Shapes shared by the guest-side HTTP cache hostcalls and the main thread's memory cache. */
import type { HeaderList } from "./host-protocol.ts";

/** `cache_lookup_state` flags (cache.witx). */
export const CacheState = {
  FOUND: 1 << 0,
  USABLE: 1 << 1,
  STALE: 1 << 2,
  MUST_INSERT_OR_UPDATE: 1 << 3,
  USABLE_IF_ERROR: 1 << 4,
} as const;

/** `http_storage_action` (http-cache.witx). */
export const StorageAction = { INSERT: 0, UPDATE: 1, DO_NOT_STORE: 2, RECORD_UNCACHEABLE: 3 } as const;

export interface StoredResponseHead {
  readonly status: number;
  readonly headers: HeaderList;
}

/** `http_cache_write_options`, durations in nanoseconds (as numbers: exact up to ~104 days). */
export interface CacheWriteOptions {
  readonly maxAgeNs: number;
  readonly initialAgeNs: number;
  readonly swrNs: number;
  readonly sieNs: number;
  readonly varyRule: string | null;
  readonly surrogateKeys: string | null;
  readonly length: number | null;
  readonly sensitive: boolean;
}

/** A stored response as one lookup saw it. */
export interface CachedObject {
  readonly head: StoredResponseHead;
  readonly body: Uint8Array;
  readonly options: CacheWriteOptions;
  /** Age now, including the initial age it was stored with. */
  readonly ageNs: number;
  readonly hits: number;
}

export interface CacheLookupResult {
  /** `CacheState` flags as the lookup saw them; a handle keeps reporting these until it is closed. */
  readonly state: number;
  /** The stored response, usable or not (a stale one still supplies validators for revalidation). */
  readonly found: CachedObject | null;
  /** Set when this lookup holds the obligation to insert or update (MUST_INSERT_OR_UPDATE). */
  readonly txnId: number | null;
}
