import { performance } from "node:perf_hooks";
import { Agent } from "undici";
import { encodeFreshness, FRESHNESS_KV_KEY } from "../core/freshness.ts";
import { encodePolicy, POLICY_KV_KEY, type Policy } from "../core/policy-document.ts";
import { crateNameProblem } from "../core/index-path.ts";
import { encodeCrateRecord } from "../core/publish-times.ts";
import type { TimestampDatabase } from "../store/timestamp-database.ts";
import { KvApiError, putKvBatch, type KvBatchTarget, type KvLineError } from "./kv-batch-client.ts";
import { chunkKvBatches, DEFAULT_KV_BATCH_LIMITS, type KvBatchLimits } from "./kv-batch-chunks.ts";
import { kvBatchBody, kvBatchLine, type KvBatchLine } from "./kv-batch-line.ts";
import { readFreshness, recordKvPush } from "../store/database-freshness.ts";
import { silentKvPushProgress, type KvPushProgress } from "./kv-progress.ts";
import { countPendingCrates, markPushedCrates, pendingCrateRecords } from "../store/kv-push-ledger.ts";
import { DEFAULT_RETRY_POLICY, RetryWaitTooLongError, withRetries, type RetryPolicy } from "../node/retry.ts";

export const DEFAULT_FASTLY_API = "https://api.fastly.com";

/** Attempts per line that the API answered with a retryable per-line error (429, 5xx …), the first one included. */
export const DEFAULT_LINE_ATTEMPTS = 3;

export interface KvPushOptions {
  readonly database: TimestampDatabase;
  readonly storeId: string;
  readonly token: string;
  readonly apiUrl?: string;
  readonly limits?: KvBatchLimits;
  readonly retryPolicy?: RetryPolicy;
  readonly lineAttempts?: number;
  readonly progress?: KvPushProgress;
  /** Aborting stops the push where it is; what was accepted so far stays marked. */
  readonly signal?: AbortSignal;
  /** Written to `_policy` before any crate, so the edge applies it (exceptions, yanked mode …) at once. */
  readonly policy?: Policy;
}

/** A line the API would not take, after retries where they made sense. Its crate stays unpushed. */
export interface RejectedLine {
  readonly key: string;
  readonly code: string;
  readonly reason: string;
}

/** Why a push ended before sending everything; `null` when it got through. */
export type KvPushStop =
  | { readonly reason: "rate-limited"; /** epoch ms */ readonly resumeAt: number; readonly message: string }
  | { readonly reason: "failed"; readonly message: string };

export interface KvPushSummary {
  readonly storeId: string;
  /** Crates that were pending when the push began. */
  readonly pending: number;
  /** Crates the API accepted (and that are now marked pushed). */
  readonly cratesSent: number;
  /** Batch requests the API answered (a retried request counts once, when it got through). */
  readonly batches: number;
  /** Waits before another attempt: back-offs, rate-limit waits, per-line retries. */
  readonly retries: number;
  readonly rejected: readonly RejectedLine[];
  /** Names in the database that are not crate names (never requested by cargo, never sent). */
  readonly skipped: readonly string[];
  /** The freshness key was written (only after every pending crate got through). */
  readonly freshnessWritten: boolean;
  /** The policy key was written (only when a policy was given). */
  readonly policyWritten: boolean;
  readonly stop: KvPushStop | null;
  readonly durationMs: number;
  /** Reading SQLite, encoding records and NDJSON lines (wall clock). */
  readonly prepareMs: number;
  /** CPU time this process spent preparing: unlike wall clock, not inflated when other processes share the CPUs. */
  readonly prepareCpuMs: number;
  /** Waiting for the API (retries and waits included). */
  readonly sendMs: number;
}

/** A line to send, with the revision to mark once accepted (none for the freshness key). */
export interface PushLine extends KvBatchLine {
  readonly revision: number | null;
}

/** Thrown inside the per-line retry loop while some lines still wait for a retry. */
class LinesNotApplied extends Error {}

const RETRYABLE_LINE_CODE = /^(408|409|429|5\d\d)$/;

/**
 * `kv push`: sends every crate whose revision is above what the store holds, in bounded batches, marking each crate
 * pushed only once the API accepted it; then writes the freshness key. Returns what happened; throws only when
 * aborted (or on a bug).
 */
export async function pushToKv(options: KvPushOptions): Promise<KvPushSummary> {
  const started = performance.now();
  const startedAt = Math.floor(Date.now() / 1000);
  const database = options.database;
  const progress = options.progress ?? silentKvPushProgress;
  const policy = options.retryPolicy ?? DEFAULT_RETRY_POLICY;
  const lineAttempts = options.lineAttempts ?? DEFAULT_LINE_ATTEMPTS;
  const agent = new Agent({ keepAliveTimeout: 10_000, headersTimeout: 120_000, bodyTimeout: 120_000 });
  const target: KvBatchTarget = {
    apiUrl: options.apiUrl ?? DEFAULT_FASTLY_API,
    storeId: options.storeId,
    token: options.token,
    dispatcher: agent,
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const pending = countPendingCrates(database, options.storeId);
  let cratesSent = 0;
  let batches = 0;
  let retries = 0;
  let prepareMs = 0;
  let prepareCpuMs = 0;
  let sendMs = 0;
  let freshnessWritten = false;
  let policyWritten = false;
  let stop: KvPushStop | null = null;
  const rejected: RejectedLine[] = [];
  const skipped: string[] = [];
  const counters = () => ({ cratesSent, batches, retries });

  const accept = (lines: readonly PushLine[]) => {
    const crates: { crate: string; revision: number }[] = [];
    for (const line of lines) {
      if (line.revision === null) {
        freshnessWritten ||= line.key === FRESHNESS_KV_KEY;
        policyWritten ||= line.key === POLICY_KV_KEY;
      }
      else crates.push({ crate: line.key, revision: line.revision });
    }
    if (crates.length > 0) markPushedCrates(database, options.storeId, crates);
    cratesSent += crates.length;
  };

  /** One batch: HTTP-level retries inside, per-line retries of just the failed lines around them. */
  const sendBatch = async (lines: PushLine[]) => {
    let waiting = lines;
    const lastError = new Map<string, KvLineError>();
    try {
      await withRetries(
        async () => {
          const answer = await withRetries(() => putKvBatch(target, kvBatchBody(waiting)), policy, {
            classify: (error) => (error instanceof KvApiError ? error.retry : { kind: "give-up" }),
            onRetry: (notice) => {
              retries++;
              const error = notice.error as Error;
              const wait = notice.reason === "wait-until" ? `waiting until ${new Date(Date.now() + notice.delayMs).toISOString()}` : `retrying in ${(notice.delayMs / 1000).toFixed(1)} s`;
              progress.note(`kv push: ${error.message}; ${wait}`);
            },
            ...(options.signal ? { signal: options.signal } : {}),
          });
          batches++;
          const failed = attributeLineErrors(answer.lineErrors, waiting);
          accept(waiting.filter((_, index) => !failed.has(index)));
          const again: PushLine[] = [];
          for (const [index, error] of failed) {
            const line = waiting[index] as PushLine;
            lastError.set(line.key, error);
            if (RETRYABLE_LINE_CODE.test(error.code)) again.push(line);
            else rejected.push({ key: line.key, code: error.code, reason: error.reason });
          }
          waiting = again;
          if (waiting.length > 0) throw new LinesNotApplied(`${waiting.length} lines not applied`);
        },
        { ...policy, maxAttempts: lineAttempts },
        {
          classify: (error) => (error instanceof LinesNotApplied ? { kind: "back-off" } : { kind: "give-up" }),
          onRetry: () => {
            retries++;
            progress.note(`kv push: retrying ${waiting.length} lines the API did not apply`);
          },
          ...(options.signal ? { signal: options.signal } : {}),
        },
      );
    } catch (error) {
      if (!(error instanceof LinesNotApplied)) throw error;
      for (const line of waiting) {
        const last = lastError.get(line.key);
        rejected.push({ key: line.key, code: last?.code ?? "?", reason: last?.reason ?? "not applied" });
      }
    }
    progress.advance(counters());
  };

  progress.start(pending);
  try {
    let mark = performance.now();
    let cpuMark = process.cpuUsage();
    const prepared = () => {
      const cpu = process.cpuUsage(cpuMark);
      prepareCpuMs += (cpu.user + cpu.system) / 1000;
      const now = performance.now();
      prepareMs += now - mark;
      return now;
    };
    if (options.policy !== undefined) {
      const sending = prepared();
      await sendBatch([{ ...kvBatchLine(POLICY_KV_KEY, encodePolicy(options.policy)), revision: null }]);
      mark = performance.now();
      sendMs += mark - sending;
    }
    for (const batch of chunkKvBatches(pendingKvLines(database, options.storeId, skipped), options.limits ?? DEFAULT_KV_BATCH_LIMITS)) {
      const sending = prepared();
      await sendBatch(batch);
      mark = performance.now();
      cpuMark = process.cpuUsage();
      sendMs += mark - sending;
    }
    prepared();
    if (rejected.length === 0) {
      // Freshness claims the store is current as of the push's start, so it is written only when that is true.
      const freshness = { ...readFreshness(options.database), lastKvPush: startedAt };
      const sending = performance.now();
      await sendBatch([{ ...kvBatchLine(FRESHNESS_KV_KEY, encodeFreshness(freshness)), revision: null }]);
      sendMs += performance.now() - sending;
      if (freshnessWritten) recordKvPush(options.database, startedAt);
    }
  } catch (error) {
    if (options.signal?.aborted) throw error;
    if (error instanceof RetryWaitTooLongError) {
      stop = { reason: "rate-limited", resumeAt: error.resumeAt, message: (error.cause as Error).message };
    } else if (error instanceof KvApiError) {
      stop = { reason: "failed", message: error.message };
    } else {
      throw error;
    }
  } finally {
    progress.stop();
    await agent.destroy().catch(() => {});
  }
  return {
    storeId: options.storeId,
    pending,
    cratesSent,
    batches,
    retries,
    rejected,
    skipped,
    freshnessWritten,
    policyWritten,
    stop,
    durationMs: performance.now() - started,
    prepareMs,
    prepareCpuMs,
    sendMs,
  };
}

/**
 * The NDJSON lines a push to `storeId` would send now, lazily, in crate order: each pending crate's record in the
 * core codec. Names cargo could never request are left out (and appended to `skipped`).
 */
export function* pendingKvLines(database: TimestampDatabase, storeId: string, skipped: string[] = []): Generator<PushLine> {
  for (const { revision, record } of pendingCrateRecords(database, storeId)) {
    if (crateNameProblem(record.crate) !== null) {
      skipped.push(record.crate);
      continue;
    }
    const line = kvBatchLine(record.crate, encodeCrateRecord(record));
    yield { key: line.key, text: line.text, revision };
  }
}

/**
 * Which lines of the batch each per-line error is about: by `index` when that line has the reported key (or no key
 * is reported), else by key. An error that names no line we can find fails the whole batch, to be safe.
 */
function attributeLineErrors(errors: readonly KvLineError[], lines: readonly PushLine[]): Map<number, KvLineError> {
  const failed = new Map<number, KvLineError>();
  let byKey: Map<string, number> | null = null;
  for (const error of errors) {
    const atIndex = error.index !== null ? lines[error.index] : undefined;
    if (atIndex !== undefined && (error.key === null || error.key === atIndex.key)) {
      failed.set(error.index as number, error);
      continue;
    }
    if (error.key !== null) {
      byKey ??= new Map(lines.map((line, index) => [line.key, index]));
      const index = byKey.get(error.key);
      if (index !== undefined) {
        failed.set(index, error);
        continue;
      }
    }
    lines.forEach((_, index) => failed.set(index, { ...error, reason: `${error.reason} (not attributable to a line)` }));
  }
  return failed;
}
