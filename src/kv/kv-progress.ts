import cliProgress from "cli-progress";

/** Counters a push reports as it goes. */
export interface KvPushCounters {
  readonly cratesSent: number;
  readonly batches: number;
  readonly retries: number;
}

/** Where a push tells how far it is; `silentKvPushProgress` for library use and tests. */
export interface KvPushProgress {
  start(totalCrates: number): void;
  advance(counters: KvPushCounters): void;
  /** A notable event (a retry, a rate-limit wait), one line. */
  note(line: string): void;
  stop(): void;
}

export const silentKvPushProgress: KvPushProgress = { start() {}, advance() {}, note() {}, stop() {} };

/** On a terminal a progress bar; otherwise (cron, CI logs) a log line every `everyMs` and at the end. */
export function kvPushProgressOn(stream: NodeJS.WriteStream, everyMs = 10_000): KvPushProgress {
  return stream.isTTY ? barProgress(stream) : logLineProgress(stream, everyMs);
}

function barProgress(stream: NodeJS.WriteStream): KvPushProgress {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: "kv push |{bar}| {value}/{total} crates | {batches} requests | {retries} retries | ETA {eta_formatted}",
      hideCursor: true,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    start: (total) => bar.start(total, 0, { batches: 0, retries: 0 }),
    advance: (c) => bar.update(c.cratesSent, { batches: c.batches, retries: c.retries }),
    note: (line) => {
      // Printed above the bar, which redraws on the next update.
      stream.write(`\r\x1b[2K${line}\n`);
      bar.render();
    },
    stop: () => bar.stop(),
  };
}

function logLineProgress(stream: NodeJS.WriteStream, everyMs: number): KvPushProgress {
  let total = 0;
  let last = 0;
  let lastCounters: KvPushCounters = { cratesSent: 0, batches: 0, retries: 0 };
  const line = (c: KvPushCounters) =>
    stream.write(`kv push: ${c.cratesSent}/${total} crates, ${c.batches} requests, ${c.retries} retries\n`);
  return {
    start: (t) => {
      total = t;
      last = Date.now();
      stream.write(`kv push: ${t} crates to send\n`);
    },
    advance: (c) => {
      lastCounters = c;
      if (Date.now() - last >= everyMs) {
        last = Date.now();
        line(c);
      }
    },
    note: (text) => stream.write(`${text}\n`),
    stop: () => {
      if (lastCounters.batches > 0) line(lastCounters);
    },
  };
}
