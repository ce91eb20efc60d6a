/**
 * Where a filtered request's time goes, for a home that wants to say so (the edge's `Server-Timing`, opt-in). The core
 * measures only when given a sink, with `performance.now()` (every engine it runs in has it); without one, nothing is
 * measured and nothing is allocated.
 */
export type Phase =
  /** Upstream's answer, from asking to the last byte read. */
  | "upstream"
  /** Looking up a kept scan of the body (scan-cache.ts). */
  | "scan-cache"
  /** UTF-8 decoding of the body (not done when a kept scan was found). */
  | "decode"
  /** Reading every line's version, yanked and pubtime (or rebuilding them from a kept scan). */
  | "scan"
  /** The crate's record from the timestamp store. */
  | "lookup"
  /** Deciding every line. */
  | "filter"
  /** Finding a big body's plain lines and deciding the others, in place of scan and filter (plain-line-filter.ts). */
  | "plain-lines"
  /** Copying the kept lines into the body, and the body's ETag. */
  | "body";

export interface PhaseTimings {
  add(phase: Phase, milliseconds: number): void;
}

/** Runs `work`, adding its duration to `phase` when there is a sink. */
export function timed<T>(timings: PhaseTimings | undefined, phase: Phase, work: () => T): T {
  if (timings === undefined) return work();
  const started = performance.now();
  try {
    return work();
  } finally {
    timings.add(phase, performance.now() - started);
  }
}

/** `timed` for asynchronous work. */
export async function timedAsync<T>(
  timings: PhaseTimings | undefined,
  phase: Phase,
  work: () => Promise<T>,
): Promise<T> {
  if (timings === undefined) return work();
  const started = performance.now();
  try {
    return await work();
  } finally {
    timings.add(phase, performance.now() - started);
  }
}
