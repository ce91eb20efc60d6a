import { CoreCache } from "fastly:cache";
import type { ScanCache } from "../core/ports.ts";

const KEPT_SCAN_PREFIX = "crates-cooldown/";

/**
 * How long a scan is kept. The key names the exact bytes (scan-cache.ts), so a kept scan never goes stale; the limit
 * only bounds what an unchanged file costs the Core Cache (which also evicts the least used entries on its own).
 */
export const KEPT_SCAN_SECONDS = 24 * 3600;

/**
 * Scans of upstream bodies in Fastly's Core Cache (the core's `ScanCache` port): a POP scans each revision of an index
 * file once, and every other request for the same bytes (another window, a new policy, an answer past its max-age,
 * an upstream copy revalidated with a 304) reads the kept scan instead of decoding and scanning again.
 * Plain lookups and inserts, not transactions: two requests scanning the same new file at once both write the same
 * value.
 */
export function keptScans(): ScanCache {
  return {
    async get(key) {
      const entry = CoreCache.lookup(KEPT_SCAN_PREFIX + key);
      if (entry === null) return null;
      try {
        return await new Response(entry.body()).text();
      } finally {
        entry.close();
      }
    },
    async put(key, value) {
      const bytes = new TextEncoder().encode(value);
      const writer = CoreCache.insert(KEPT_SCAN_PREFIX + key, {
        maxAge: KEPT_SCAN_SECONDS * 1000,
        length: bytes.byteLength,
      });
      writer.append(bytes);
      writer.close();
    },
  };
}
