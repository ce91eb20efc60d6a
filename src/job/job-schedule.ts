import { setTimeout as sleep } from "node:timers/promises";
import { type BackoffPolicy, backoffDelayMs } from "../node/backoff.ts";
import { formatDuration } from "./duration.ts";

/** A job `runSchedule` repeats: every `everyMs` while it succeeds, after a growing back-off while it fails. */
export interface ScheduledJob {
  readonly name: string;
  readonly everyMs: number;
  readonly backoff: BackoffPolicy;
  /** Wait before the first run. */
  readonly firstRunInMs: number;
  /** One run; resolves with its one-line summary. Must stop promptly when `signal` aborts. */
  run(signal: AbortSignal): Promise<string>;
}

export interface ScheduleHooks {
  /** Aborting stops every job: waits end at once, a running job gets the signal. */
  readonly signal: AbortSignal;
  /** Summaries (stdout in the CLI). */
  readonly log: (line: string) => void;
  /** Failures and retries (stderr in the CLI). */
  readonly warn: (line: string) => void;
  readonly random?: () => number;
}

/**
 * Runs each job in its own loop until `signal` aborts, and resolves once every loop has stopped. A job never overlaps
 * itself; a failure (of any kind: a bug must not stop the other job either) is logged in one line and retried after
 * an exponential, capped back-off; a success resets the back-off and waits out the rest of the interval.
 */
export async function runSchedule(jobs: readonly ScheduledJob[], hooks: ScheduleHooks): Promise<void> {
  await Promise.all(jobs.map((job) => runJob(job, hooks)));
}

async function runJob(job: ScheduledJob, hooks: ScheduleHooks): Promise<void> {
  const { signal } = hooks;
  let wait = job.firstRunInMs;
  let failures = 0;
  while (!signal.aborted) {
    if (wait > 0 && !(await pause(wait, signal))) break;
    const started = Date.now();
    try {
      hooks.log(await job.run(signal));
      failures = 0;
      wait = Math.max(0, job.everyMs - (Date.now() - started));
    } catch (error) {
      if (signal.aborted) break;
      failures++;
      wait = backoffDelayMs(job.backoff, failures, hooks.random);
      hooks.warn(
        `ingest watch: ${job.name} failed (${failures} in a row): ${oneLine(error)}; next try in ${formatDuration(wait)}`,
      );
    }
  }
}

/** Sleeps, or returns false at once when the signal aborts. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0] ?? message;
}
