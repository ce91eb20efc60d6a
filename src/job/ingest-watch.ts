import { ingestAdvisories } from "../advisories/ingest-advisories.ts";
import { dumpProgressOn, silentDumpProgress } from "../dump/dump-progress.ts";
import { formatDumpSummary, ingestDump } from "../dump/ingest-dump.ts";
import type { ApiPacer } from "../feed/api-lookup.ts";
import { formatApiQueueSummary, runApiQueue } from "../feed/api-queue-run.ts";
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
  /**
   * The queue of crates.io API lookups `ingest feed` fills, drained as `ingest api` does: every `everyMs`, at most
   * `maxCrates` a run, one request a second at most across the whole process; absent = not drained.
   */
  readonly api?: ApiDrain;
  /** Why the queue is not drained when `api` is absent, for the start line (e.g. "--no-api"). */
  readonly apiOffBecause?: string;
}

export interface ApiDrain {
  /** crates.io's web API, e.g. `https://crates.io`. */
  readonly base: string;
  /** Names the tool and the operator's contact (crates.io refuses API clients without one). */
  readonly userAgent: string;
  readonly everyMs: number;
  readonly maxCrates: number;
}

/** The feed covers ~60 minutes: a longer interval loses versions whenever nothing else covers them. */
const FEED_COVERAGE_MS = 60 * 60_000;

/**
 * `ingest watch`: polls the feed every `feedEveryMs` and ingests the dump every `dumpEveryMs`, until the signal. The
 * feed starts at once; the dump starts at once unless the last successful dump ingest is younger than its interval.
 * The advisory sync and the API lookups (when given) start at once too. Each job is its own loop with its own
 * connection; their writes are short synchronous transactions on this one thread, so they never meet, and the API
 * lookups' waits (pacing, `Retry-After`) hold no connection busy and block no other job.
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
  const api = options.api;
  if (api !== undefined) jobs.push(apiJob(options.dbPath, api, options.warn));
  options.log(
    `ingest watch: feed every ${formatDuration(options.feedEveryMs)}, dump every ${formatDuration(options.dumpEveryMs)} (next dump in ${formatDuration(dump.firstRunInMs)}); database ${options.dbPath}` +
      (advisories === undefined
        ? "; advisories not synced"
        : `; advisories every ${formatDuration(advisories.everyMs)}`) +
      (api === undefined
        ? `; crates.io API lookups off${options.apiOffBecause === undefined ? "" : ` (${options.apiOffBecause})`}`
        : `; crates.io API lookups every ${formatDuration(api.everyMs)} (at most ${api.maxCrates} crates a run, 1 request/s)`),
  );
  await runSchedule(jobs, { signal: options.signal, log: options.log, warn: options.warn });
  options.log("ingest watch: stopped");
}

/**
 * The queue drain: one pacer for the life of the watch, so requests stay a second apart from one run to the next and a
 * refusal's `Retry-After` holds for the next run too. A run is bounded (`maxCrates`); an interrupted one records
 * nothing for the crate it was looking up and leaves it and the rest queued.
 */
function apiJob(dbPath: string, api: ApiDrain, warn: (line: string) => void): ScheduledJob {
  const pacer: ApiPacer = { lastRequestAt: Number.NEGATIVE_INFINITY };
  return {
    name: "api",
    everyMs: api.everyMs,
    backoff: backoffFor(api.everyMs),
    firstRunInMs: 0,
    run: async (signal) => {
      const database = openTimestampDatabaseForWriting(dbPath);
      try {
        return formatApiQueueSummary(
          await runApiQueue({
            database,
            apiBase: api.base,
            userAgent: api.userAgent,
            maxCrates: api.maxCrates,
            pacer,
            signal,
            warn,
          }),
        );
      } finally {
        database.close();
      }
    },
  };
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
