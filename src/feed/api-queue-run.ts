import { deferApiLookup, dueApiLookups, finishApiLookup } from "../store/api-queue.ts";
import type { TimestampDatabase } from "../store/timestamp-database.ts";
import { ApiLookupFailure, type ApiPacer, lookUpCrateHistory } from "./api-lookup.ts";

export interface ApiQueueRunOptions {
  readonly database: TimestampDatabase;
  readonly apiBase: string;
  readonly userAgent: string;
  /** At most this many crates per run (default 100). */
  readonly maxCrates?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Aborting stops the run at once, even in the middle of a wait; the crate being looked up records nothing. */
  readonly signal?: AbortSignal;
  readonly warn?: (line: string) => void;
  /**
   * Shared across runs (`ingest watch` keeps one for the whole process), so requests stay a second apart and a
   * refusal's `Retry-After` is honoured from one run to the next; default: one for this run.
   */
  readonly pacer?: ApiPacer;
}

export interface ApiQueueRunSummary {
  readonly looked: number;
  readonly versions: number;
  readonly publishersLearned: number;
  readonly dropped: number;
  readonly deferred: number;
  /** Set when the run stopped early: crates.io kept refusing, or the run was interrupted. */
  readonly stopped: string | null;
}

/**
 * Drains the queue of crates.io API lookups (`ingest feed` fills it): the due crates, oldest first, one request a
 * second across all of them. A crate crates.io does not know is dropped; a failed lookup waits (5 min, doubling) and
 * stays queued; when crates.io keeps refusing (429/5xx) or the run is interrupted, the run stops and the rest stays
 * queued for the next one — nothing is lost.
 */
export async function runApiQueue(options: ApiQueueRunOptions): Promise<ApiQueueRunSummary> {
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const crates = dueApiLookups(options.database, now(), options.maxCrates ?? 100);
  const pacer = options.pacer ?? { lastRequestAt: Number.NEGATIVE_INFINITY };
  let looked = 0;
  let versions = 0;
  let publishersLearned = 0;
  let dropped = 0;
  let deferred = 0;
  let stopped: string | null = null;
  for (const crate of crates) {
    if (options.signal?.aborted) {
      stopped = "interrupted";
      break;
    }
    try {
      const summary = await lookUpCrateHistory({
        database: options.database,
        crate,
        apiBase: options.apiBase,
        userAgent: options.userAgent,
        pacer,
        ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      finishApiLookup(options.database, crate);
      looked++;
      versions += summary.versions;
      publishersLearned += summary.publishersLearned;
    } catch (error) {
      if (!(error instanceof ApiLookupFailure)) throw error;
      if (error.kind === "interrupted") {
        stopped = "interrupted";
        break;
      }
      if (error.kind === "not-found") {
        finishApiLookup(options.database, crate);
        dropped++;
        options.warn?.(`ingest api: ${error.message}; dropped from the queue`);
        continue;
      }
      deferApiLookup(options.database, crate, now(), error.message);
      deferred++;
      options.warn?.(`ingest api: ${error.message}; tried again later`);
      if (error.kind === "refused" || error.kind === "unreachable") {
        stopped = error.message;
        break;
      }
    }
  }
  return { looked, versions, publishersLearned, dropped, deferred, stopped };
}

/** The one-line summary of a run, as `ingest api` and `ingest watch` print it. */
export function formatApiQueueSummary(s: ApiQueueRunSummary): string {
  return `ingest api: ${s.looked} queued crates looked up (${s.versions} versions, ${s.publishersLearned} publishers learned), ${s.dropped} unknown to crates.io dropped, ${s.deferred} deferred${s.stopped === null ? "" : `; stopped early: ${s.stopped}`}`;
}
