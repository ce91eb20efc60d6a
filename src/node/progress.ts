import cliProgress from "cli-progress";

/**
 * How a long command (`ingest dump`, `kv push`) tells how far it is. `R` is a reading of its counters. The command
 * either hands `start` a `read` to be sampled (the dump: bytes and rows change too often to report each), or calls
 * `advance` itself after each step (the push: a batch at a time).
 */
export interface Progress<R> {
  /** Starts the report: `total` when known; `read` is sampled (every 200 ms on a terminal, else every log interval). */
  start(total: number | null, read?: () => R): void;
  /** A new reading: the bar moves; a log line is written when the log interval has passed since the last one. */
  advance(reading: R): void;
  /** A phase change or a notable event (a retry, a rate-limit wait), one line. */
  note(line: string): void;
  stop(): void;
}

/** For library use and tests: reports nothing. */
export const silentProgress: Progress<never> = { start() {}, advance() {}, note() {}, stop() {} };

/** What one command shows: its bar on a terminal, its log lines elsewhere. */
export interface ProgressView<R> {
  /** The bar's cli-progress format, and over how many updates its ETA is averaged. */
  readonly barFormat: string;
  readonly etaBuffer: number;
  /** The bar's total and first payload. */
  barStart(total: number | null): { readonly total: number; readonly payload: object };
  /** The bar's value and payload for a reading. */
  barUpdate(reading: R, total: number | null): { readonly value: number; readonly payload: object };
  /** The log line written at the start. */
  startLine(total: number | null): string;
  /** The log line for a reading, `seconds` after the start. */
  readingLine(reading: R, total: number | null, seconds: number): string;
  /** Whether the log ends with the line of the last reading `advance` was given. */
  readonly lastLineAtStop: (last: R) => boolean;
}

/** Every how often a bar samples its `read`. */
const BAR_SAMPLE_MS = 200;

/** On a terminal a progress bar; otherwise (cron, CI logs) a log line every `everyMs`. */
export function progressOn<R>(stream: NodeJS.WriteStream, view: ProgressView<R>, everyMs = 10_000): Progress<R> {
  return stream.isTTY ? barProgress(stream, view) : logLineProgress(stream, view, everyMs);
}

function barProgress<R>(stream: NodeJS.WriteStream, view: ProgressView<R>): Progress<R> {
  const bar = new cliProgress.SingleBar(
    { stream, format: view.barFormat, hideCursor: true, etaBuffer: view.etaBuffer },
    cliProgress.Presets.shades_classic,
  );
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let total: number | null = null;
  const advance = (reading: R) => {
    const { value, payload } = view.barUpdate(reading, total);
    bar.update(value, payload);
  };
  return {
    start(startTotal, read) {
      running = true;
      total = startTotal;
      const first = view.barStart(total);
      bar.start(first.total, 0, first.payload);
      if (read === undefined) return;
      timer = setInterval(() => advance(read()), BAR_SAMPLE_MS);
      timer.unref();
    },
    advance,
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

function logLineProgress<R>(stream: NodeJS.WriteStream, view: ProgressView<R>, everyMs: number): Progress<R> {
  let timer: NodeJS.Timeout | undefined;
  let total: number | null = null;
  let started = 0;
  let lastLineAt = 0;
  let last: { reading: R } | null = null;
  const writeLine = (reading: R) => {
    lastLineAt = Date.now();
    stream.write(`${view.readingLine(reading, total, (lastLineAt - started) / 1000)}\n`);
  };
  return {
    start(startTotal, read) {
      total = startTotal;
      started = lastLineAt = Date.now();
      stream.write(`${view.startLine(total)}\n`);
      if (read === undefined) return;
      // Sampled on the log interval itself: every tick writes a line.
      timer = setInterval(() => writeLine(read()), everyMs);
      timer.unref();
    },
    advance(reading) {
      last = { reading };
      if (Date.now() - lastLineAt >= everyMs) writeLine(reading);
    },
    note: (line) => void stream.write(`${line}\n`),
    stop() {
      if (timer !== undefined) clearInterval(timer);
      if (last !== null && view.lastLineAtStop(last.reading)) writeLine(last.reading);
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
