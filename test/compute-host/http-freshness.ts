/**
 * How long a response may be cached, from its own headers, the way Fastly reads them by default: Surrogate-Control
 * and Cache-Control `s-maxage`/`max-age`, else Expires − Date, else Fastly's default TTL of one hour; `Age` is the
 * initial age; `stale-while-revalidate` / `stale-if-error` give the stale periods. Used by
 * get_suggested_cache_options and by host caching (send_async with a CacheOverride).
 */
import type { HeaderList } from "./host-protocol.ts";
import { type CacheWriteOptions, StorageAction } from "./http-cache-types.ts";

const NS_PER_SECOND = 1_000_000_000;
export const DEFAULT_TTL_SECONDS = 3600;
/** Statuses Fastly caches by default. */
const CACHEABLE_STATUSES = new Set([200, 203, 300, 301, 302, 404, 410]);

export function headerValue(headers: HeaderList, name: string): string | null {
  const values = headers.filter(([n]) => n === name).map(([, v]) => v);
  return values.length === 0 ? null : values.join(", ");
}

function directives(value: string | null): Map<string, string | null> {
  const result = new Map<string, string | null>();
  for (const part of (value ?? "").split(",")) {
    const [rawName, ...rest] = part.trim().split("=");
    if (rawName === undefined || rawName === "") continue;
    result.set(rawName.toLowerCase(), rest.length === 0 ? null : rest.join("=").replace(/^"|"$/g, ""));
  }
  return result;
}

function seconds(value: string | null | undefined): number | null {
  if (value === null || value === undefined || !/^\d+$/.test(value.trim())) return null;
  return Number(value.trim());
}

export function suggestedCacheOptions(headers: HeaderList): CacheWriteOptions {
  const surrogate = directives(headerValue(headers, "surrogate-control"));
  const cacheControl = directives(headerValue(headers, "cache-control"));
  let maxAge =
    seconds(surrogate.get("max-age")) ?? seconds(cacheControl.get("s-maxage")) ?? seconds(cacheControl.get("max-age"));
  if (maxAge === null) {
    const expires = headerValue(headers, "expires");
    if (expires !== null) {
      const date = Date.parse(headerValue(headers, "date") ?? "") || Date.now();
      const expiresAt = Date.parse(expires);
      maxAge = Number.isNaN(expiresAt) ? 0 : Math.max(0, Math.floor((expiresAt - date) / 1000));
    }
  }
  const length = seconds(headerValue(headers, "content-length"));
  const vary = headerValue(headers, "vary");
  const surrogateKeys = headerValue(headers, "surrogate-key");
  return {
    maxAgeNs: (maxAge ?? DEFAULT_TTL_SECONDS) * NS_PER_SECOND,
    initialAgeNs: (seconds(headerValue(headers, "age")) ?? 0) * NS_PER_SECOND,
    swrNs:
      (seconds(surrogate.get("stale-while-revalidate") ?? cacheControl.get("stale-while-revalidate")) ?? 0) *
      NS_PER_SECOND,
    sieNs: (seconds(surrogate.get("stale-if-error") ?? cacheControl.get("stale-if-error")) ?? 0) * NS_PER_SECOND,
    varyRule:
      vary === null
        ? null
        : vary
            .split(",")
            .map((v) => v.trim().toLowerCase())
            .filter((v) => v !== "")
            .join(" "),
    surrogateKeys: surrogateKeys === null ? null : surrogateKeys.trim().split(/\s+/).join(" "),
    length,
    sensitive: false,
  };
}

/** What prepare_response_for_storage suggests for a backend response (304s are handled by the caller). */
export function storageActionFor(status: number, headers: HeaderList): number {
  const cacheControl = directives(headerValue(headers, "cache-control"));
  if (cacheControl.has("no-store") || cacheControl.has("private")) return StorageAction.RECORD_UNCACHEABLE;
  if (!CACHEABLE_STATUSES.has(status)) return StorageAction.DO_NOT_STORE;
  return StorageAction.INSERT;
}
