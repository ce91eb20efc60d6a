import { type Progress, type ProgressView, progressOn, silentProgress } from "../node/progress.ts";

/** Counters a push reports as it goes. */
export interface KvPushCounters {
  readonly cratesSent: number;
  readonly batches: number;
  readonly retries: number;
}

/** Where a push tells how far it is: `start` gets the crates pending, `advance` the counters after each batch. */
export type KvPushProgress = Progress<KvPushCounters>;

export const silentKvPushProgress: KvPushProgress = silentProgress;

/** Crates sent of pending, requests and retries: on the bar, or in a log line (and a last one at the end). */
const KV_PUSH_VIEW: ProgressView<KvPushCounters> = {
  barFormat: "kv push |{bar}| {value}/{total} crates | {batches} requests | {retries} retries | ETA {eta_formatted}",
  etaBuffer: 20,
  barStart: (total) => ({ total: total ?? 0, payload: { batches: 0, retries: 0 } }),
  barUpdate: (c) => ({ value: c.cratesSent, payload: { batches: c.batches, retries: c.retries } }),
  startLine: (total) => `kv push: ${total} crates to send`,
  readingLine: (c, total) => `kv push: ${c.cratesSent}/${total} crates, ${c.batches} requests, ${c.retries} retries`,
  lastLineAtStop: (last) => last.batches > 0,
};

/** On a terminal a progress bar; otherwise (cron, CI logs) a log line every `everyMs` and at the end. */
export function kvPushProgressOn(stream: NodeJS.WriteStream, everyMs = 10_000): KvPushProgress {
  return progressOn(stream, KV_PUSH_VIEW, everyMs);
}
