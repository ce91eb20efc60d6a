import cliProgress from "cli-progress";

/** A reading of how far a dump ingest is. */
export interface DumpProgressSample {
  /** Compressed bytes read from the source. */
  readonly bytes: number;
  readonly rows: number;
}

/** Where `ingest dump` tells how far it is; `silentDumpProgress` for library use and tests. */
export interface DumpProgress {
  /** Starts sampling `read` (total compressed bytes when known). */
  start(totalBytes: number | null, read: () => DumpProgressSample): void;
  /** A phase change or notable event, one line. */
  note(line: string): void;
  stop(): void;
}

export const silentDumpProgress: DumpProgress = { start() {}, note() {}, stop() {} };

/** On a terminal a progress bar (bytes, rows, ETA); otherwise (cron, CI logs) a log line every `everyMs`. */
export function dumpProgressOn(stream: NodeJS.WriteStream, everyMs = 10_000): DumpProgress {
  return stream.isTTY ? barProgress(stream) : logLineProgress(stream, everyMs);
}

function barProgress(stream: NodeJS.WriteStream): DumpProgress {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: "ingest dump |{bar}| {percentage}% | {done} of {size} | {rows} rows | ETA {eta_formatted}",
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  return {
    start(totalBytes, read) {
      running = true;
      const total = totalBytes ?? 0;
      bar.start(total, 0, { done: formatBytes(0), size: totalBytes === null ? "?" : formatBytes(total), rows: "0" });
      timer = setInterval(() => {
        const { bytes, rows } = read();
        bar.update(totalBytes === null ? 0 : bytes, { done: formatBytes(bytes), rows: rows.toLocaleString("en-US") });
      }, 200);
      timer.unref();
    },
    note(line) {
      if (!running) return void stream.write(`${line}\n`);
      // Above the bar, which redraws itself on its next update.
      stream.write(`\r\x1b[2K${line}\n`);
      bar.render();
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
      if (running) bar.stop();
      running = false;
    },
  };
}

function logLineProgress(stream: NodeJS.WriteStream, everyMs: number): DumpProgress {
  let timer: NodeJS.Timeout | undefined;
  return {
    start(totalBytes, read) {
      const started = Date.now();
      stream.write(`ingest dump: reading ${totalBytes === null ? "a dump of unknown size" : formatBytes(totalBytes)}\n`);
      timer = setInterval(() => {
        const { bytes, rows } = read();
        const seconds = (Date.now() - started) / 1000;
        let line = `ingest dump: ${formatBytes(bytes)}`;
        if (totalBytes !== null && totalBytes > 0) {
          const share = bytes / totalBytes;
          const eta = share > 0 ? seconds / share - seconds : NaN;
          line += ` of ${formatBytes(totalBytes)} (${Math.floor(share * 100)}%)`;
          line += `, ${rows.toLocaleString("en-US")} rows, ${Math.round(seconds)} s${Number.isFinite(eta) ? `, ETA ${Math.round(eta)} s` : ""}`;
        } else {
          line += `, ${rows.toLocaleString("en-US")} rows, ${Math.round(seconds)} s`;
        }
        stream.write(`${line}\n`);
      }, everyMs);
      timer.unref();
    },
    note: (line) => void stream.write(`${line}\n`),
    stop() {
      if (timer !== undefined) clearInterval(timer);
    },
  };
}

/** `349.3 MB`, decimal units as download tools show them. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = -1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
