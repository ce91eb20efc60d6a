import { formatBytes, type Progress, type ProgressView, progressOn, silentProgress } from "../node/progress.ts";

/** A reading of how far a dump ingest is. */
export interface DumpProgressSample {
  /** Compressed bytes read from the source. */
  readonly bytes: number;
  readonly rows: number;
}

/** Where `ingest dump` tells how far it is: `start` gets the compressed size when known, and samples the reading. */
export type DumpProgress = Progress<DumpProgressSample>;

export const silentDumpProgress: DumpProgress = silentProgress;

/** Bytes, rows and ETA: on the bar, or in a log line. */
const DUMP_VIEW: ProgressView<DumpProgressSample> = {
  barFormat: "ingest dump |{bar}| {percentage}% | {done} of {size} | {rows} rows | ETA {eta_formatted}",
  etaBuffer: 50,
  barStart: (totalBytes) => ({
    total: totalBytes ?? 0,
    payload: { done: formatBytes(0), size: totalBytes === null ? "?" : formatBytes(totalBytes), rows: "0" },
  }),
  barUpdate: ({ bytes, rows }, totalBytes) => ({
    value: totalBytes === null ? 0 : bytes,
    payload: { done: formatBytes(bytes), rows: rows.toLocaleString("en-US") },
  }),
  startLine: (totalBytes) =>
    `ingest dump: reading ${totalBytes === null ? "a dump of unknown size" : formatBytes(totalBytes)}`,
  readingLine({ bytes, rows }, totalBytes, seconds) {
    let line = `ingest dump: ${formatBytes(bytes)}`;
    if (totalBytes !== null && totalBytes > 0) {
      const share = bytes / totalBytes;
      const eta = share > 0 ? seconds / share - seconds : NaN;
      line += ` of ${formatBytes(totalBytes)} (${Math.floor(share * 100)}%)`;
      line += `, ${rows.toLocaleString("en-US")} rows, ${Math.round(seconds)} s${Number.isFinite(eta) ? `, ETA ${Math.round(eta)} s` : ""}`;
    } else {
      line += `, ${rows.toLocaleString("en-US")} rows, ${Math.round(seconds)} s`;
    }
    return line;
  },
  lastLineAtStop: () => false,
};

/** On a terminal a progress bar (bytes, rows, ETA); otherwise (cron, CI logs) a log line every `everyMs`. */
export function dumpProgressOn(stream: NodeJS.WriteStream, everyMs = 10_000): DumpProgress {
  return progressOn(stream, DUMP_VIEW, everyMs);
}
