/**
 * `npm run bench`: runs every `bench/*.bench.ts`, one after another, each in its own process (so one benchmark's
 * heap, JIT state and leftover servers cannot colour the next), then prints one markdown table of the figures each
 * reported through `printBenchSummary`. Exits non-zero when a benchmark failed; a missed target is reported, not failed.
 */
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type BenchSummary, parseBenchSummaries } from "./support/summary.ts";

const BENCH_DIR = fileURLToPath(new URL(".", import.meta.url));
const RUN_TS = fileURLToPath(new URL("../bin/run-ts.js", import.meta.url));

interface Outcome {
  readonly file: string;
  readonly exitCode: number | null;
  readonly seconds: number;
  readonly summaries: readonly BenchSummary[];
}

const files = readdirSync(BENCH_DIR)
  .filter((name) => name.endsWith(".bench.ts"))
  .sort();
const outcomes: Outcome[] = [];
for (const file of files) {
  console.log(`\n## ${file}\n`);
  outcomes.push(await runBench(file));
}
printTable(outcomes);
process.exitCode = outcomes.some((outcome) => outcome.exitCode !== 0) ? 1 : 0;

/** Runs one benchmark, echoing its output as it comes and keeping its stdout for the summary lines. */
function runBench(file: string): Promise<Outcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RUN_TS, fileURLToPath(new URL(file, import.meta.url))], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let stdout = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      stdout += chunk;
      process.stdout.write(chunk);
    });
    child.on("close", (exitCode) => {
      resolve({
        file,
        exitCode,
        seconds: (performance.now() - started) / 1000,
        summaries: parseBenchSummaries(stdout),
      });
    });
  });
}

function printTable(results: readonly Outcome[]): void {
  const cell = (text: string) => text.replaceAll("|", "\\|");
  console.log("\n## Summary\n");
  console.log("| benchmark | figure | value | target | met |");
  console.log("| --- | --- | --- | --- | --- |");
  for (const { file, exitCode, seconds, summaries } of results) {
    if (exitCode !== 0) {
      console.log(`| ${file} | failed (exit ${exitCode}) after ${seconds.toFixed(0)} s | see its output above | | ✗ |`);
      continue;
    }
    if (summaries.length === 0) {
      console.log(`| ${file} | (reported no summary; see its output above) | | | |`);
      continue;
    }
    for (const summary of summaries) {
      if (summary.skipped !== undefined) {
        console.log(`| ${summary.bench} | skipped | ${cell(summary.skipped)} | | |`);
        continue;
      }
      for (const figure of summary.figures) {
        const met = figure.met === undefined ? "" : figure.met ? "✓" : "✗";
        console.log(
          `| ${summary.bench} | ${cell(figure.figure)} | ${cell(figure.value)} | ${cell(figure.target ?? "")} | ${met} |`,
        );
      }
    }
  }
  console.log(
    "\nFigures come from one run on this machine; other load on it moves them. Ratios (measured side by side) are the figures to compare.",
  );
}
