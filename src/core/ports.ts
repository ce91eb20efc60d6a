import type { CrateRecord } from "./publish-times.ts";
import type { UnixSeconds } from "./time.ts";

/**
 * The upstream index (crates.io or a mirror), as the home reaches it. The home owns caching and transport; the core
 * owns what is asked and what is done with the answer.
 */
export interface Upstream {
  /**
   * GET `<upstream>/<path>` (path without a leading slash, e.g. `se/rd/serde` or `config.json`) with the given
   * request headers. The body must come back identity-coded: a home that cannot decode an encoding leaves its
   * `Content-Encoding` header in place, and the core then refuses the body.
   */
  fetch(path: string, headers: Headers): Promise<Response>;
}

/** The timestamp database: publish times for versions whose index line has none. */
export interface PublishTimes {
  /** The record for a lowercased crate name, or `null` when the database has none. */
  lookup(crate: string): Promise<CrateRecord | null>;
}

/**
 * Keeps the scan of an upstream body (`scan-cache.ts`) between requests, keyed by what names those exact bytes, so a
 * file read once is not decoded and scanned again while upstream keeps sending the same bytes. Optional: a home whose
 * scan is cheap (Node) has none. Both calls may fail; the core then scans as if nothing were kept.
 */
export interface ScanCache {
  get(key: string): Promise<string | null>;
  /**
   * Keeps the value `make` gives (null: nothing to keep). A cache that stores after the answer has gone out calls it
   * then, so making the value (encoding a scan, or reading a whole file first) adds nothing to the answer's time.
   */
  put(key: string, make: () => string | null): Promise<void>;
}

export interface Clock {
  now(): UnixSeconds;
}

export const systemClock: Clock = { now: () => Math.floor(Date.now() / 1000) };
