import { CacheOverride } from "fastly:cache-override";
import { maxAgeOf } from "../core/cache-control.ts";
import { CRATES_IO_INDEX_ORIGIN } from "../core/index-path.ts";
import type { Upstream } from "../core/ports.ts";
import type { UnixSeconds } from "../core/time.ts";

/** The backend name in fastly.toml and on the service; its host is index.crates.io. */
export const CRATES_IO_BACKEND = "crates_io_index";

/** The Fastly-specific fetch options this adapter sets (a subset of the SDK's `RequestInit`). */
export interface BackendRequestInit {
  readonly headers: Headers;
  readonly backend: string;
  readonly cacheOverride: CacheOverride;
  readonly fastly: { readonly decompressGzip: boolean };
}

export type BackendFetch = (url: string, init: BackendRequestInit) => Promise<Response>;

/** What the `afterSend` hook may read and change on the response about to enter the edge cache. */
export interface CacheCandidate {
  readonly headers: Headers;
  ttl: number | undefined;
  /** How long Fastly may serve the copy stale while it revalidates (from upstream's `stale-while-revalidate`). */
  swr: number | undefined;
}

export interface BackendUpstreamOptions {
  readonly maxTtlSeconds: UnixSeconds;
  readonly backend?: string;
  readonly origin?: string;
  /** Compute's global `fetch` unless a test passes its own. */
  readonly fetch?: BackendFetch;
}

/**
 * The upstream index through a named backend and the edge cache. The cache holds upstream's gzip bytes;
 * `decompressGzip` hands the core identity bytes (the core refuses any other encoding).
 */
export function backendUpstream(options: BackendUpstreamOptions): Upstream {
  const send = options.fetch ?? fetch;
  const backend = options.backend ?? CRATES_IO_BACKEND;
  const origin = options.origin ?? CRATES_IO_INDEX_ORIGIN;
  return {
    async fetch(path, headers) {
      const upstreamHeaders = new Headers(headers);
      upstreamHeaders.set("accept-encoding", "gzip");
      const url = `${origin}/${path}`;
      const through = (cacheOverride: CacheOverride): BackendRequestInit => ({
        headers: upstreamHeaders,
        backend,
        cacheOverride,
        fastly: { decompressGzip: true },
      });
      try {
        return await send(
          url,
          through(new CacheOverride({ afterSend: (candidate) => capCacheTtl(candidate, options.maxTtlSeconds) })),
        );
      } catch (error) {
        if (!isHttpCacheApiMissing(error)) throw error;
        // The runtime refused the hook before anything was sent, so sending again cannot reach upstream twice.
        return send(url, through(hostCacheOverride(options.maxTtlSeconds)));
      }
    },
  };
}

/**
 * js-compute refuses a fetch with an `afterSend` hook when the service has no HTTP Cache API: Viceroy (`fastly compute
 * serve`) never has it, and a production service has it only once Fastly enables it. The runtime says so in these
 * words (`runtime/fastly/builtins/fetch/fetch.cpp`); no other fetch error contains them.
 */
const HTTP_CACHE_API_MISSING = /HTTP caching API is not enabled/;

export function isHttpCacheApiMissing(error: unknown): boolean {
  return error instanceof Error && HTTP_CACHE_API_MISSING.test(error.message);
}

/**
 * Caching without the HTTP Cache API (Fastly's host caching): nothing can read upstream's Cache-Control before the copy
 * is stored, so the copy is kept exactly the configured maximum and never served stale. That keeps the promise that
 * matters — a yank reaches cargo within `upstream_max_ttl_seconds` — at the price of not honouring an upstream
 * `max-age` shorter than that, or `no-store`. A maximum of 0 passes every request through, uncached.
 */
export function hostCacheOverride(maxTtlSeconds: UnixSeconds): CacheOverride {
  return maxTtlSeconds <= 0 ? new CacheOverride("pass") : new CacheOverride("override", { ttl: maxTtlSeconds, swr: 0 });
}

/**
 * Keeps an upstream file in the edge cache no longer than upstream's `max-age` and no longer than the configured
 * maximum: a stale copy would delay yanks (how compromised versions are pulled) and new versions. Serving it stale
 * while revalidating counts too: fresh and stale together never exceed the configured maximum. Upstream saying
 * `no-store`/`no-cache` (max-age 0) or a maximum of 0 means the file is not stored at all.
 */
export function capCacheTtl(candidate: CacheCandidate, maxTtlSeconds: UnixSeconds): { cache: false } | undefined {
  const upstreamMaxAge = maxAgeOf(candidate.headers.get("cache-control"));
  const cap = Math.min(maxTtlSeconds, upstreamMaxAge ?? Number.POSITIVE_INFINITY);
  if (cap <= 0) return { cache: false };
  if (candidate.ttl === undefined || candidate.ttl > cap) candidate.ttl = cap;
  const staleAllowance = maxTtlSeconds - candidate.ttl;
  if (candidate.swr !== undefined && candidate.swr > staleAllowance) candidate.swr = staleAllowance;
  return undefined;
}
