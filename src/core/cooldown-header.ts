import type { FilteredIndexFile } from "./index-filter.ts";
import { formatRfc3339 } from "./time.ts";
import type { CooldownWindow } from "./window.ts";

/** The response header that tells a curl user what the filter did. */
export const COOLDOWN_HEADER = "x-cooldown";

/**
 * `window=7d; kept=12; hidden=3; too-young=1; yanked=2; unknown-age=0; unreadable=0; trust-held=1;
 * next-visible=2026-11-29T10:00:00Z` (`next-visible` only when a hidden version will mature). `trust-held` counts
 * versions old enough for the window that trust signals hold back, `trust-unknown` those whose trust data is not
 * known yet; each only when not zero.
 */
export function describeFilter(window: CooldownWindow, filtered: FilteredIndexFile): string {
  const h = filtered.hidden;
  const total =
    h["too-young"] +
    h.yanked +
    h["unknown-publish-time"] +
    h["unreadable-line"] +
    h["trust-signal"] +
    h["trust-data-unknown"];
  const parts = [
    `window=${window.label}`,
    `kept=${filtered.kept}`,
    `hidden=${total}`,
    `too-young=${h["too-young"]}`,
    `yanked=${h.yanked}`,
    `unknown-age=${h["unknown-publish-time"]}`,
    `unreadable=${h["unreadable-line"]}`,
  ];
  if (h["trust-signal"] > 0) parts.push(`trust-held=${h["trust-signal"]}`);
  if (h["trust-data-unknown"] > 0) parts.push(`trust-unknown=${h["trust-data-unknown"]}`);
  if (filtered.nextVisibleAt !== null) parts.push(`next-visible=${formatRfc3339(filtered.nextVisibleAt)}`);
  return parts.join("; ");
}
