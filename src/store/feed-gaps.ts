import type { UnixSeconds } from "../core/time.ts";
import { META_KEYS } from "./meta-keys.ts";
import type { TimestampDatabase } from "./timestamp-database.ts";

/**
 * A stretch the RSS feed may have missed: the poll before covered up to `from`, the next one's oldest item was
 * published at `to`. Versions published in between are unknown (hidden) until a dump whose watermark reaches `to`.
 */
export interface FeedGap {
  readonly from: UnixSeconds;
  readonly to: UnixSeconds;
  readonly detectedAt: UnixSeconds;
}

/** Gaps kept at most (the oldest go first); a dump closes them long before this matters. */
const MAX_GAPS = 50;

/** The open gaps, oldest first; an unreadable value counts as none. */
export function readFeedGaps(database: TimestampDatabase): FeedGap[] {
  const raw = database.getMeta(META_KEYS.feedGaps);
  if (raw === null) return [];
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (!Array.isArray(parsed)) return [];
    return parsed.filter(
      (gap): gap is FeedGap =>
        typeof gap === "object" &&
        gap !== null &&
        Number.isFinite(gap.from) &&
        Number.isFinite(gap.to) &&
        Number.isFinite(gap.detectedAt),
    );
  } catch {
    return [];
  }
}

export function recordFeedGap(database: TimestampDatabase, gap: FeedGap): void {
  writeFeedGaps(database, [...readFeedGaps(database), gap].slice(-MAX_GAPS));
}

/**
 * A dump with this watermark holds every version published before it: gaps ending before it are closed, a gap it
 * reaches into is shortened. Returns how many were closed.
 */
export function closeFeedGapsCoveredBy(database: TimestampDatabase, watermark: UnixSeconds): number {
  const gaps = readFeedGaps(database);
  if (gaps.length === 0) return 0;
  const open = gaps
    .filter((gap) => gap.to > watermark)
    .map((gap) => (gap.from < watermark ? { ...gap, from: watermark } : gap));
  writeFeedGaps(database, open);
  return gaps.length - open.length;
}

function writeFeedGaps(database: TimestampDatabase, gaps: readonly FeedGap[]): void {
  database.setMeta(META_KEYS.feedGaps, JSON.stringify(gaps));
}
