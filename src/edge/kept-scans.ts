import { CoreCache, SimpleCache } from "fastly:cache";
import type { ScanCache } from "../core/ports.ts";
import { type AfterAnswer, AT_ONCE } from "./after-answer.ts";

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
 * value, stored after the answer has gone out when the request allows it (`afterAnswer`). The lookup is
 * `SimpleCache.get`, which the SDK answers with the lookup hostcall `CoreCache` uses and whose body it reads natively,
 * where a Core Cache entry's body stream is fed to JavaScript 8 KB at a time (a kept scan of 4,000 lines is a few
 * hundred KB). An SDK that kept SimpleCache's keys apart would only make every lookup a miss. That lookup may also find
 * a scan past its day (Viceroy answers a present entry fresh or not): harmless, as the key names the exact bytes.
 */
export function keptScans(afterAnswer: AfterAnswer = AT_ONCE): ScanCache {
  return {
    async get(key) {
      const entry = SimpleCache.get(KEPT_SCAN_PREFIX + key);
      return entry === null ? null : await entry.text();
    },
    async put(key, make) {
      const store = () => {
        const value = make();
        if (value === null) return;
        const bytes = new TextEncoder().encode(value);
        const writer = CoreCache.insert(KEPT_SCAN_PREFIX + key, {
          maxAge: KEPT_SCAN_SECONDS * 1000,
          length: bytes.byteLength,
        });
        writer.append(bytes);
        writer.close();
      };
      afterAnswer(store);
    },
  };
}
