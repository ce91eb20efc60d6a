import { ingestAdvisories } from "../advisories/ingest-advisories.ts";
import { dumpProgressOn, silentDumpProgress } from "../dump/dump-progress.ts";
import { formatDumpSummary, ingestDump } from "../dump/ingest-dump.ts";
import { formatFeedSummary, ingestFeed } from "../feed/ingest-feed.ts";
import { backoffFor } from "../node/backoff.ts";
import { openTimestampDatabaseForWriting } from "../node/open-database.ts";
import { META_KEYS } from "../store/meta-keys.ts";
import { formatAdvisorySummary } from "./advisories-command.ts";
import { formatDuration } from "./duration.ts";
import { runSchedule, type ScheduledJob } from "./job-schedule.ts";

export interface WatchOptions {
  readonly dbPath: string;
  readonly feedSource: string;
  readonly dumpSource: string;
  readonly feedEveryMs: number;
  readonly dumpEveryMs: number;
  /** Aborting (SIGTERM/SIGINT in the CLI) stops both jobs; an interrupted dump leaves the database as it was. */
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
  readonly warn: (line: string) => void;
  /** Dump progress lines every this often (default: none). */
  readonly dumpProgressEveryMs?: number;
  /** RustSec advisories for security-fix admission: synced this often from this source; absent = not synced. */
  readonly advisories?: { readonly source: string; readonly everyMs: number };
}

/** The feed covers ~60 minutes: a longer interval loses versions whenever nothing else covers them. */
const FEED_COVERAGE_MS = 60 * 60_000;

/**
 * `ingest watch`: polls the feed every `feedEveryMs` and ingests the dump every `dumpEveryMs`, until the signal. The
 * feed starts at once; the dump starts at once unless the last successful dump ingest is younger than its interval.
 */
export async function ingestWatch(options: WatchOptions): Promise<void> {
  if (options.feedEveryMs > FEED_COVERAGE_MS * 0.8) {
    options.warn(
      `ingest watch: --feed-every ${formatDuration(options.feedEveryMs)} is close to or beyond the feed's ~60 minutes: expect gaps`,
    );
  }
  const feed: ScheduledJob = {
    name: "feed",
    everyMs: options.feedEveryMs,
    backoff: backoffFor(options.feedEveryMs),
    firstRunInMs: 0,
    run: async (signal) =>
      formatFeedSummary(
        await ingestFeed({ source: options.feedSource, dbPath: options.dbPath, warn: options.warn, signal }),
      ),
  };
  const dump: ScheduledJob = {
    name: "dump",
    everyMs: options.dumpEveryMs,
    backoff: backoffFor(options.dumpEveryMs),
    firstRunInMs: firstDumpIn(options.dbPath, options.dumpEveryMs),
    run: async (signal) => {
      const progress =
        options.dumpProgressEveryMs === undefined
          ? silentDumpProgress
          : dumpProgressOn(process.stderr, options.dumpProgressEveryMs);
      return formatDumpSummary(
        await ingestDump({ source: options.dumpSource, dbPath: options.dbPath, signal, progress }),
      );
    },
  };
  const jobs = [feed, dump];
  const advisories = options.advisories;
  if (advisories !== undefined) {
    jobs.push({
      name: "advisories",
      everyMs: advisories.everyMs,
      backoff: backoffFor(advisories.everyMs),
      firstRunInMs: 0,
      run: async () => {
        const database = openTimestampDatabaseForWriting(options.dbPath);
        try {
          const summary = await ingestAdvisories(database, advisories.source);
          for (const { path, reason } of summary.unreadable)
            options.warn(`warning: advisory ${path} skipped: ${reason}`);
          return formatAdvisorySummary(summary);
        } finally {
          database.close();
        }
      },
    });
  }
  options.log(
    `ingest watch: feed every ${formatDuration(options.feedEveryMs)}, dump every ${formatDuration(options.dumpEveryMs)} (next dump in ${formatDuration(dump.firstRunInMs)}); database ${options.dbPath}` +
      (advisories === undefined
        ? "; advisories not synced"
        : `; advisories every ${formatDuration(advisories.everyMs)}`),
  );
  await runSchedule(jobs, { signal: options.signal, log: options.log, warn: options.warn });
  options.log("ingest watch: stopped");
}

/** When the last dump ingest finished, the next is due one interval later; never ingested means now. */
function firstDumpIn(dbPath: string, everyMs: number): number {
  const database = openTimestampDatabaseForWriting(dbPath);
  try {
    const raw = database.getMeta(META_KEYS.dumpLastRun);
    const finishedAt = raw === null ? NaN : Number((JSON.parse(raw) as { finishedAt?: unknown }).finishedAt);
    if (!Number.isFinite(finishedAt)) return 0;
    return Math.max(0, finishedAt * 1000 + everyMs - Date.now());
  } catch {
    return 0;
  } finally {
    database.close();
  }
}
