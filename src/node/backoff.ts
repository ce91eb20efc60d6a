/** How long to wait before retrying a job that failed `failures` times in a row: exponential, capped, jittered. */
export interface BackoffPolicy {
  /** Wait after the first failure. */
  readonly initialMs: number;
  /** Longest wait, however many failures. */
  readonly capMs: number;
}

/**
 * The wait after the `failures`-th failure in a row (1, 2, …): `initialMs · 2^(failures−1)`, at most `capMs`, then
 * between 75 % and 100 % of that, so two jobs that failed together do not retry together.
 */
export function backoffDelayMs(policy: BackoffPolicy, failures: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.capMs, policy.initialMs * 2 ** Math.max(0, Math.min(failures - 1, 30)));
  return Math.round(ceiling * (0.75 + 0.25 * random()));
}

/**
 * The back-off for a job run every `intervalMs`: the first retry after a tenth of it (1 s … 5 min), then doubling up
 * to the interval itself, at most an hour (a failing daily dump is retried hourly, a failing 5-minute poll every 5).
 */
export function backoffFor(intervalMs: number): BackoffPolicy {
  const initialMs = Math.min(5 * 60_000, Math.max(1_000, intervalMs / 10));
  return { initialMs, capMs: Math.max(initialMs, Math.min(intervalMs, 60 * 60_000)) };
}
