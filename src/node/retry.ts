import { setTimeout as sleepFor } from "node:timers/promises";
import { backoffDelayMs } from "./backoff.ts";

/** What to do after an attempt failed; the caller's `classify` decides, this module only waits and counts. */
export type RetryDecision =
  /** Not worth repeating (a refused token, a malformed request): the error goes to the caller as is. */
  | { readonly kind: "give-up" }
  /** Transient (5xx, a dropped connection): wait with exponential back-off, then try again. */
  | { readonly kind: "back-off" }
  /** The server said when to come back (a rate limit's reset), as epoch milliseconds. */
  | { readonly kind: "wait-until"; readonly at: number };

export interface RetryPolicy {
  /** Attempts in all (the first one included) that may end in a back-off. */
  readonly maxAttempts: number;
  /** Back-off before the second attempt; doubled for each further one. */
  readonly baseDelayMs: number;
  /** Cap of one back-off. */
  readonly maxDelayMs: number;
  /** Longest `wait-until` honoured; a longer one ends the retrying with `RetryWaitTooLongError`. */
  readonly maxWaitMs: number;
  /** `wait-until` answers honoured in a row at most, so a server that keeps saying "later" cannot hold us forever. */
  readonly maxWaits: number;
}

/** Defaults for HTTP calls: about half a minute of back-off in all, and rate-limit waits up to 10 minutes. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 1_000,
  maxDelayMs: 30_000,
  maxWaitMs: 600_000,
  maxWaits: 10,
};

/** One wait before another attempt, for logs and counters. */
export interface RetryNotice {
  /** The attempt that just failed, from 1. */
  readonly attempt: number;
  readonly error: unknown;
  readonly delayMs: number;
  readonly reason: "back-off" | "wait-until";
}

export interface RetryHooks {
  readonly classify: (error: unknown) => RetryDecision;
  readonly onRetry?: (notice: RetryNotice) => void;
  /** Aborting stops a pending wait at once (the abort reason is thrown). */
  readonly signal?: AbortSignal;
  /** For tests: epoch milliseconds now. */
  readonly now?: () => number;
  /** For tests: jitter source in [0, 1). */
  readonly random?: () => number;
}

/** The server asked us to wait longer than allowed: stop now and resume at `resumeAt` (epoch milliseconds). */
export class RetryWaitTooLongError extends Error {
  override readonly name = "RetryWaitTooLongError";
  constructor(
    readonly resumeAt: number,
    override readonly cause: unknown,
  ) {
    super(`asked to wait until ${new Date(resumeAt).toISOString()}, longer than allowed`);
  }
}

/**
 * Runs `operation` until it succeeds, waiting between failed attempts as `classify` decides. When the attempts run
 * out, or an error is not worth repeating, the last error is thrown unchanged so callers see what really went wrong.
 */
export async function withRetries<T>(
  operation: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  hooks: RetryHooks,
): Promise<T> {
  const now = hooks.now ?? Date.now;
  const random = hooks.random ?? Math.random;
  let backOffs = 0;
  let waits = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (hooks.signal?.aborted) throw error;
      const decision = hooks.classify(error);
      let delayMs: number;
      if (decision.kind === "give-up") throw error;
      if (decision.kind === "wait-until") {
        if (++waits > policy.maxWaits) throw error;
        delayMs = Math.max(0, decision.at - now());
        if (delayMs > policy.maxWaitMs) throw new RetryWaitTooLongError(decision.at, error);
      } else {
        if (++backOffs >= policy.maxAttempts) throw error;
        delayMs = backoffDelayMs({ initialMs: policy.baseDelayMs, capMs: policy.maxDelayMs }, backOffs, random);
      }
      hooks.onRetry?.({ attempt, error, delayMs, reason: decision.kind });
      await sleepFor(delayMs, undefined, hooks.signal ? { signal: hooks.signal } : undefined);
    }
  }
}
