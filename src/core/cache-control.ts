import type { UnixSeconds } from "./time.ts";

/** `max-age` of a Cache-Control header; `no-store`, `no-cache` and `private` count as 0 (nothing to share). */
export function maxAgeOf(header: string | null): UnixSeconds | null {
  if (header === null) return null;
  let maxAge: number | null = null;
  for (const directive of header.toLowerCase().split(",")) {
    const [name, value] = directive.trim().split("=", 2) as [string, string | undefined];
    if (name === "no-store" || name === "no-cache" || name === "private") return 0;
    if (name === "max-age" && value !== undefined && /^\d+$/.test(value.replace(/"/g, ""))) {
      maxAge = Number(value.replace(/"/g, ""));
    }
  }
  return maxAge;
}

/**
 * What is left of upstream's freshness lifetime: max-age minus the `Age` a cache on the way has already spent
 * (RFC 9111 §4.2.3), so a filtered answer built from a cached copy never outlives that copy.
 */
export function remainingUpstreamLifetime(headers: Headers): UnixSeconds | null {
  const maxAge = maxAgeOf(headers.get("cache-control"));
  if (maxAge === null) return null;
  const age = Number(headers.get("age") ?? "0");
  return Math.max(0, maxAge - (Number.isFinite(age) && age > 0 ? Math.floor(age) : 0));
}

/**
 * How long a filtered response may be cached: never past the moment the visible set next changes by itself (a hidden
 * version matures, an exception expires), never longer
 * than upstream allows, and briefly when some version's age is unknown (the database may learn it any minute).
 */
export function filteredMaxAge(options: {
  now: UnixSeconds;
  upstreamMaxAge: UnixSeconds | null;
  nextChangeAt: UnixSeconds | null;
  hasUnknownAges: boolean;
  defaultMaxAge: UnixSeconds;
  unknownAgeMaxAge: UnixSeconds;
}): UnixSeconds {
  let age = options.upstreamMaxAge ?? options.defaultMaxAge;
  if (options.nextChangeAt !== null) age = Math.min(age, options.nextChangeAt - options.now);
  if (options.hasUnknownAges) age = Math.min(age, options.unknownAgeMaxAge);
  return Math.max(0, Math.floor(age));
}
