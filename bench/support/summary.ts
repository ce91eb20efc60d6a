/**
 * The contract between a benchmark and `bench/run-all.ts`: a benchmark prints its headline figures as one line
 * `BENCH-SUMMARY {json}` on stdout, and run-all gathers those lines into one table. Everything else a benchmark
 * prints is for the reader and passes through untouched.
 */

export const SUMMARY_MARKER = "BENCH-SUMMARY ";

export interface BenchFigure {
  /** What was measured, e.g. "scan + filter throughput". */
  readonly figure: string;
  /** The measurement with its unit, e.g. "812 MB/s". */
  readonly value: string;
  /** The goal, when there is one, e.g. "≥ 5×". */
  readonly target?: string;
  /** Whether the goal was met; absent when there is no goal. */
  readonly met?: boolean;
}

export interface BenchSummary {
  readonly bench: string;
  /** Set when the benchmark could not run here (e.g. its fixture is absent), saying why. */
  readonly skipped?: string;
  readonly figures: readonly BenchFigure[];
}

export function printBenchSummary(summary: BenchSummary): void {
  console.log(SUMMARY_MARKER + JSON.stringify(summary));
}

export function printBenchSkipped(bench: string, reason: string): void {
  console.log(`${bench}: skipped: ${reason}`);
  printBenchSummary({ bench, skipped: reason, figures: [] });
}

/** Reads every summary line out of a benchmark's stdout. */
export function parseBenchSummaries(stdout: string): BenchSummary[] {
  return stdout
    .split("\n")
    .filter((line) => line.startsWith(SUMMARY_MARKER))
    .map((line) => JSON.parse(line.slice(SUMMARY_MARKER.length)) as BenchSummary);
}
