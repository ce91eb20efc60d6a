import { performance } from "node:perf_hooks";
import { Agent } from "undici";
import { encodeFreshness, FRESHNESS_KV_KEY } from "../core/freshness.ts";
import { crateNameProblem } from "../core/index-path.ts";
import { encodePolicy, POLICY_KV_KEY, type Policy } from "../core/policy-document.ts";
import { encodeCrateRecord } from "../core/publish-times.ts";
import { ANSWERS_SURROGATE_KEY, crateSurrogateKey, POLICY_SURROGATE_KEY } from "../core/surrogate-keys.ts";
import { DEFAULT_RETRY_POLICY, type RetryPolicy, RetryWaitTooLongError, withRetries } from "../node/retry.ts";
import { readFreshness, recordKvPush } from "../store/database-freshness.ts";
import { countPendingCrates, markPushedCrates, pendingCrateRecords } from "../store/kv-push-ledger.ts";
import type { TimestampDatabase } from "../store/timestamp-database.ts";
import { FastlyApiError } from "./fastly-api.ts";
import { MAX_KEYS_PER_PURGE, type PurgeTarget, purgeSurrogateKeys } from "./fastly-purge-client.ts";
import { chunkKvBatches, DEFAULT_KV_BATCH_LIMITS, type KvBatchLimits } from "./kv-batch-chunks.ts";
import { type KvBatchTarget, type KvLineError, putKvBatch } from "./kv-batch-client.ts";
import { type KvBatchLine, kvBatchBody, kvBatchLine } from "./kv-batch-line.ts";
import { type KvPushProgress, silentKvPushProgress } from "./kv-progress.ts";

export const DEFAULT_FASTLY_API = "https://api.fastly.com";

/**
 * A push that changed more crates than this purges every cached answer (one key) instead of naming each crate: a
 * handful of requests at most, and a push that large is the first one or a catch-up, after which little is cached.
 */
export const MAX_CRATES_PURGED_BY_NAME = 4 * MAX_KEYS_PER_PURGE;

/**
 * How long a purge waits after the last write: the KV Store is eventually consistent (a read of just-changed data can
 * take ~300 ms), and a POP that recomputed an answer from the old record before the change reached it would keep that
 * answer for its `max-age` again.
 */
export const DEFAULT_PURGE_DELAY_MS = 1_000;

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
  /**
   * The Fastly service whose edge caches to purge once the records are written (src/core/surrogate-keys.ts): the
   * answers of every crate sent (or all answers, past {@link MAX_CRATES_PURGED_BY_NAME}), or, when a policy was
   * written, the cached policy and every answer (its one key is on both). Without it, the edge applies new records
   * within its answers' `max-age` and a policy within 30 s.
   */
  readonly purge?: { readonly serviceId: string; readonly delayMs?: number };
}

/** What the purge after a push did. */
export interface PurgeSummary {
  readonly serviceId: string;
  /** Surrogate keys the API purged. */
  readonly keysPurged: number;
  /** Purge requests the API answered 200. */
  readonly requests: number;
  /** Every cached answer was purged at once (a policy written, or too many crates to name). */
  readonly allAnswers: boolean;
  /** Why the purge stopped before purging every key; null when it got through. */
  readonly error: string | null;
}

/** A line the API would not take, after retries where they made sense. Its crate stays unpushed. */
export interface RejectedLine {
  readonly key: string;
  readonly code: string;
  readonly reason: string;
}

/** Why a push ended before sending everything; `null` when it got through. */
export type KvPushStop =
  | { readonly reason: "rate-limited" /** epoch ms */; readonly resumeAt: number; readonly message: string }
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
  /** Null without `purge`, or when nothing was written that the edge caches. */
  readonly purge: PurgeSummary | null;
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
  const push = new KvPush(options);
  push.progress.start(push.pending);
  try {
    if (options.policy !== undefined) await push.sendPolicy(options.policy);
    await push.sendPendingCrates();
    // Freshness claims the store is current as of the push's start, so it is written only when that is true.
    if (push.rejected.length === 0) await push.sendFreshness();
  } catch (error) {
    push.stopOn(error);
  }
  try {
    // What did get written is purged even when the push stopped: those records are in the store now.
    if (options.purge !== undefined) await push.purge(options.purge);
  } finally {
    await push.finish();
  }
  return push.summary();
}

/** Where a push spends its time: preparing lines (wall clock and CPU) between the sends, and sending. */
class PushTimer {
  prepareMs = 0;
  prepareCpuMs = 0;
  sendMs = 0;
  private mark = performance.now();
  private cpuMark = process.cpuUsage();

  /** Ends a stretch of preparing; returns the moment it ended. */
  endPreparing(): number {
    const cpu = process.cpuUsage(this.cpuMark);
    this.prepareCpuMs += (cpu.user + cpu.system) / 1000;
    const now = performance.now();
    this.prepareMs += now - this.mark;
    return now;
  }

  /** Times a send that interrupts preparing: preparing stops before it and starts again after it. */
  async sendBetweenPreparing(send: () => Promise<void>): Promise<void> {
    const sending = this.endPreparing();
    await send();
    this.mark = performance.now();
    this.cpuMark = process.cpuUsage();
    this.sendMs += this.mark - sending;
  }

  /** Times a send after all preparing is done. */
  async sendAfterPreparing(send: () => Promise<void>): Promise<void> {
    const sending = performance.now();
    await send();
    this.sendMs += performance.now() - sending;
  }
}

/** One run of `kv push`: its connection, its counters, and the steps `pushToKv` takes. */
class KvPush {
  readonly progress: KvPushProgress;
  readonly pending: number;
  readonly rejected: RejectedLine[] = [];
  private readonly started = performance.now();
  private readonly startedAt = Math.floor(Date.now() / 1000);
  private readonly skipped: string[] = [];
  private readonly timer = new PushTimer();
  private readonly retryPolicy: RetryPolicy;
  private readonly agent = new Agent({ keepAliveTimeout: 10_000, headersTimeout: 120_000, bodyTimeout: 120_000 });
  private readonly target: KvBatchTarget;
  private readonly signalOption: { signal?: AbortSignal };
  private cratesSent = 0;
  private batches = 0;
  private retries = 0;
  private freshnessWritten = false;
  private policyWritten = false;
  private readonly cratesWritten: string[] = [];
  private purged: PurgeSummary | null = null;
  private stop: KvPushStop | null = null;

  constructor(private readonly options: KvPushOptions) {
    this.progress = options.progress ?? silentKvPushProgress;
    this.retryPolicy = options.retryPolicy ?? DEFAULT_RETRY_POLICY;
    this.signalOption = options.signal ? { signal: options.signal } : {};
    this.target = {
      apiUrl: options.apiUrl ?? DEFAULT_FASTLY_API,
      storeId: options.storeId,
      token: options.token,
      dispatcher: this.agent,
      ...this.signalOption,
    };
    this.pending = countPendingCrates(options.database, options.storeId);
  }

  /** `_policy` first, so the edge applies it at once. */
  async sendPolicy(policy: Policy): Promise<void> {
    await this.timer.sendBetweenPreparing(() =>
      this.sendBatch([{ ...kvBatchLine(POLICY_KV_KEY, encodePolicy(policy)), revision: null }]),
    );
  }

  /** Every pending crate's record, prepared lazily between the batches. */
  async sendPendingCrates(): Promise<void> {
    const lines = pendingKvLines(this.options.database, this.options.storeId, this.skipped);
    for (const batch of chunkKvBatches(lines, this.options.limits ?? DEFAULT_KV_BATCH_LIMITS)) {
      await this.timer.sendBetweenPreparing(() => this.sendBatch(batch));
    }
    this.timer.endPreparing();
  }

  /** The freshness key, as of the push's start; recorded in the database once the store holds it. */
  async sendFreshness(): Promise<void> {
    const freshness = { ...readFreshness(this.options.database), lastKvPush: this.startedAt };
    await this.timer.sendAfterPreparing(() =>
      this.sendBatch([{ ...kvBatchLine(FRESHNESS_KV_KEY, encodeFreshness(freshness)), revision: null }]),
    );
    if (this.freshnessWritten) recordKvPush(this.options.database, this.startedAt);
  }

  /** A rate limit that resets too late or a refusal ends the push with a `stop`; anything else goes on up. */
  stopOn(error: unknown): void {
    this.stop = this.stopOf(error);
  }

  /** What a failed API call (after its retries) means for the push; an abort or any other error goes on up. */
  private stopOf(error: unknown): KvPushStop {
    if (this.options.signal?.aborted) throw error;
    if (error instanceof RetryWaitTooLongError) {
      return { reason: "rate-limited", resumeAt: error.resumeAt, message: (error.cause as Error).message };
    }
    if (error instanceof FastlyApiError) return { reason: "failed", message: error.message };
    throw error;
  }

  /** Purges what the edge caches of the records written (see `KvPushOptions.purge`), after the delay. */
  async purge(options: { readonly serviceId: string; readonly delayMs?: number }): Promise<void> {
    // The policy's key is on every cached answer as well as on the cached policy (each answer was made under a
    // policy), so with a policy written it is the one key to purge.
    const allAnswers = this.policyWritten || this.cratesWritten.length > MAX_CRATES_PURGED_BY_NAME;
    const keys = this.policyWritten
      ? [POLICY_SURROGATE_KEY]
      : allAnswers
        ? [ANSWERS_SURROGATE_KEY]
        : this.cratesWritten.map(crateSurrogateKey);
    if (keys.length === 0) return;
    const target: PurgeTarget = {
      apiUrl: this.target.apiUrl,
      serviceId: options.serviceId,
      token: this.options.token,
      dispatcher: this.agent,
      ...this.signalOption,
    };
    let keysPurged = 0;
    let requests = 0;
    let error: string | null = null;
    await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? DEFAULT_PURGE_DELAY_MS));
    try {
      for (let from = 0; from < keys.length; from += MAX_KEYS_PER_PURGE) {
        const batch = keys.slice(from, from + MAX_KEYS_PER_PURGE);
        await this.withApiRetries(() => purgeSurrogateKeys(target, batch), "purge: ");
        keysPurged += batch.length;
        requests++;
      }
    } catch (failure) {
      error = this.stopOf(failure).message;
    }
    this.purged = { serviceId: options.serviceId, keysPurged, requests, allAnswers, error };
  }

  async finish(): Promise<void> {
    this.progress.stop();
    await this.agent.destroy().catch(() => {});
  }

  summary(): KvPushSummary {
    return {
      storeId: this.options.storeId,
      pending: this.pending,
      cratesSent: this.cratesSent,
      batches: this.batches,
      retries: this.retries,
      rejected: this.rejected,
      skipped: this.skipped,
      freshnessWritten: this.freshnessWritten,
      policyWritten: this.policyWritten,
      purge: this.purged,
      stop: this.stop,
      durationMs: performance.now() - this.started,
      prepareMs: this.timer.prepareMs,
      prepareCpuMs: this.timer.prepareCpuMs,
      sendMs: this.timer.sendMs,
    };
  }

  /** One batch: HTTP-level retries inside (`put`), per-line retries of just the failed lines around them. */
  private async sendBatch(lines: PushLine[]): Promise<void> {
    const attempt = { waiting: lines, lastError: new Map<string, KvLineError>() };
    try {
      await withRetries(
        async () => {
          attempt.waiting = this.settle(attempt.waiting, await this.put(attempt.waiting), attempt.lastError);
          if (attempt.waiting.length > 0) throw new LinesNotApplied(`${attempt.waiting.length} lines not applied`);
        },
        { ...this.retryPolicy, maxAttempts: this.options.lineAttempts ?? DEFAULT_LINE_ATTEMPTS },
        {
          classify: (error) => (error instanceof LinesNotApplied ? { kind: "back-off" } : { kind: "give-up" }),
          onRetry: () => {
            this.retries++;
            this.progress.note(`kv push: retrying ${attempt.waiting.length} lines the API did not apply`);
          },
          ...this.signalOption,
        },
      );
    } catch (error) {
      if (!(error instanceof LinesNotApplied)) throw error;
      this.rejectUnapplied(attempt.waiting, attempt.lastError);
    }
    this.progress.advance({ cratesSent: this.cratesSent, batches: this.batches, retries: this.retries });
  }

  /** One batch request, retried on transient failures and rate limits; counts as one batch once answered. */
  private async put(lines: readonly PushLine[]): Promise<Awaited<ReturnType<typeof putKvBatch>>> {
    const answer = await this.withApiRetries(() => putKvBatch(this.target, kvBatchBody(lines)), "");
    this.batches++;
    return answer;
  }

  /**
   * One Fastly API call, retried on transient failures and rate limits as the API's answer says (`FastlyApiError`),
   * each retry counted and noted (`what` prefixes the note).
   */
  private withApiRetries<T>(call: () => Promise<T>, what: string): Promise<T> {
    return withRetries(call, this.retryPolicy, {
      classify: (error) => (error instanceof FastlyApiError ? error.retry : { kind: "give-up" }),
      onRetry: (notice) => {
        this.retries++;
        const error = notice.error as Error;
        const wait =
          notice.reason === "wait-until"
            ? `waiting until ${new Date(Date.now() + notice.delayMs).toISOString()}`
            : `retrying in ${(notice.delayMs / 1000).toFixed(1)} s`;
        this.progress.note(`kv push: ${what}${error.message}; ${wait}`);
      },
      ...this.signalOption,
    });
  }

  /** Accepts the lines the API applied, rejects those it refused for good; returns those worth another attempt. */
  private settle(
    lines: readonly PushLine[],
    answer: { readonly lineErrors: readonly KvLineError[] },
    lastError: Map<string, KvLineError>,
  ): PushLine[] {
    const failed = attributeLineErrors(answer.lineErrors, lines);
    this.accept(lines.filter((_, index) => !failed.has(index)));
    const again: PushLine[] = [];
    for (const [index, error] of failed) {
      const line = lines[index] as PushLine;
      lastError.set(line.key, error);
      if (RETRYABLE_LINE_CODE.test(error.code)) again.push(line);
      else this.rejected.push({ key: line.key, code: error.code, reason: error.reason });
    }
    return again;
  }

  /** Marks the accepted crates pushed; notes when the policy or freshness key got through. */
  private accept(lines: readonly PushLine[]): void {
    const crates: { crate: string; revision: number }[] = [];
    for (const line of lines) {
      if (line.revision === null) {
        this.freshnessWritten ||= line.key === FRESHNESS_KV_KEY;
        this.policyWritten ||= line.key === POLICY_KV_KEY;
      } else crates.push({ crate: line.key, revision: line.revision });
    }
    if (crates.length > 0) markPushedCrates(this.options.database, this.options.storeId, crates);
    this.cratesSent += crates.length;
    // Names past the by-name limit are not needed: the purge then takes every answer at once.
    for (const { crate } of crates)
      if (this.cratesWritten.length <= MAX_CRATES_PURGED_BY_NAME) this.cratesWritten.push(crate);
  }

  /** Lines still failing after the last per-line attempt: rejected with the last error the API gave. */
  private rejectUnapplied(lines: readonly PushLine[], lastError: ReadonlyMap<string, KvLineError>): void {
    for (const line of lines) {
      const last = lastError.get(line.key);
      this.rejected.push({ key: line.key, code: last?.code ?? "?", reason: last?.reason ?? "not applied" });
    }
  }
}

/**
 * The NDJSON lines a push to `storeId` would send now, lazily, in crate order: each pending crate's record in the
 * core codec. Names cargo could never request are left out (and appended to `skipped`).
 */
export function* pendingKvLines(
  database: TimestampDatabase,
  storeId: string,
  skipped: string[] = [],
): Generator<PushLine> {
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
    for (let index = 0; index < lines.length; index++)
      failed.set(index, { ...error, reason: `${error.reason} (not attributable to a line)` });
  }
  return failed;
}
