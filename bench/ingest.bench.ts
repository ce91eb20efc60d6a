/**
 * `ingest dump` at crates.io scale: a generated dump of 250,000 crates and 3,000,000 versions (~1 GB of CSV, ~350 MB
 * gzipped) in the exact real layout, with publishers (`published_by`, 50,000 users) and 275,000 crate owners, ingested
 * into a fresh database, against Node merely gunzipping the same archive, measured side by side in this run (each in
 * its own process, interleaved round by round; medians). Targets: ingest ≤ 4× the gunzip time, peak RSS ≤ 300 MB.
 * Also times re-ingesting the identical dump (digests let it skip every crate).
 *
 * The archive is generated once (~2–3 min at full scale) and cached in the temp dir between runs.
 *
 * Run: `npm run bench` (all) or `node bin/run-ts.js bench/ingest.bench.ts`.
 * Env: BENCH_INGEST_SCALE (1 = full scale; 0.1 for a quick run), BENCH_INGEST_ROUNDS (3).
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { DumpIngestSummary } from "../src/dump/ingest-dump.ts";
import { syntheticDumpContent, writeDumpArchive } from "../test/support/dump-generator.ts";
import { median } from "./support/median.ts";
import { printBenchSummary } from "./support/summary.ts";

const BENCH = "ingest-dump";
const SCALE = Number(process.env.BENCH_INGEST_SCALE ?? 1);
const ROUNDS = Number(process.env.BENCH_INGEST_ROUNDS ?? 3);
const CRATES = Math.round(250_000 * SCALE);
const VERSIONS = Math.round(3_000_000 * SCALE);
const TARGET_RATIO = 4;
const TARGET_RSS_MB = 300;
/** Bump when the generator's output changes, so a stale cached archive is not measured. */
const GENERATOR_REVISION = 2;
const RUN_TS = fileURLToPath(new URL("../bin/run-ts.js", import.meta.url));
const CHILD = fileURLToPath(new URL("./support/ingest-dump-child.ts", import.meta.url));

interface ChildResult {
  readonly seconds: number;
  readonly maxRssBytes: number;
  readonly summary?: DumpIngestSummary;
}

const cacheDir = join(tmpdir(), "crates-cooldown-bench");
mkdirSync(cacheDir, { recursive: true });
const archive = join(cacheDir, `ingest-dump-${CRATES}c-${VERSIONS}v-r${GENERATOR_REVISION}.tar.gz`);
if (!existsSync(archive)) {
  console.log(
    `${BENCH}: generating a dump of ${fmt(CRATES)} crates and ${fmt(VERSIONS)} versions (cached at ${archive})`,
  );
  const started = performance.now();
  const partial = `${archive}.${process.pid}.partial`;
  const written = await writeDumpArchive(
    partial,
    syntheticDumpContent({ crates: CRATES, versions: VERSIONS, timestamp: new Date("2026-11-21T02:00:17Z") }),
  );
  renameSync(partial, archive);
  console.log(
    `${BENCH}: generated ${mb(written.csvBytes)} of CSV, ${mb(written.bytes)} gzipped, in ${secs(performance.now() - started)}`,
  );
} else {
  console.log(`${BENCH}: using the cached dump ${archive}`);
}

const work = mkdtempSync(join(tmpdir(), "bench-ingest-"));
try {
  const gunzipSeconds: number[] = [];
  const ingestSeconds: number[] = [];
  const reingestSeconds: number[] = [];
  const peakRss: number[] = [];
  let last: DumpIngestSummary | undefined;
  for (let round = 1; round <= ROUNDS; round++) {
    console.log(
      `${BENCH}: round ${round}/${ROUNDS} (load average ${loadavg()[0]?.toFixed(1)} on ${availableParallelism()} CPUs)`,
    );
    // Node's own gunzip, given the benefit of whichever output chunk size is faster for it.
    const gunzip = Math.min(
      (await child(["gunzip", archive, String(16 * 1024)])).seconds,
      (await child(["gunzip", archive, String(256 * 1024)])).seconds,
    );
    gunzipSeconds.push(gunzip);
    const db = join(work, `round-${round}.sqlite`);
    const fresh = await child(["ingest", archive, db]);
    ingestSeconds.push(fresh.seconds);
    peakRss.push(fresh.maxRssBytes);
    last = fresh.summary;
    const again = await child(["ingest", archive, db]);
    reingestSeconds.push(again.seconds);
    peakRss.push(again.maxRssBytes);
    console.log(
      `${BENCH}:   gunzip ${gunzip.toFixed(2)} s | ingest ${fresh.seconds.toFixed(2)} s (read ${fresh.summary?.readSeconds.toFixed(2)} s, apply ${fresh.summary?.applySeconds.toFixed(2)} s) = ${(fresh.seconds / gunzip).toFixed(2)}× | re-ingest ${again.seconds.toFixed(2)} s (${again.summary?.unchangedCrates} crates unchanged) | peak RSS ${mb(fresh.maxRssBytes)} / ${mb(again.maxRssBytes)}`,
    );
    rmSync(db, { force: true });
    rmSync(`${db}-wal`, { force: true });
    rmSync(`${db}-shm`, { force: true });
  }
  const gunzip = median(gunzipSeconds);
  const ingest = median(ingestSeconds);
  const reingest = median(reingestSeconds);
  const ratio = ingest / gunzip;
  const rss = Math.max(...peakRss) / 1e6;
  console.log(
    `${BENCH}: ${fmt(last?.versions ?? 0)} versions of ${fmt(last?.crates ?? 0)} crates; median ingest ${ingest.toFixed(2)} s vs gunzip ${gunzip.toFixed(2)} s: ${ratio.toFixed(2)}×; peak RSS ${rss.toFixed(0)} MB`,
  );
  printBenchSummary({
    bench: BENCH,
    figures: [
      {
        figure: `ingest of ${fmt(VERSIONS)} versions / Node gunzip of the same archive`,
        value: `${ratio.toFixed(2)}× (${ingest.toFixed(1)} s vs ${gunzip.toFixed(1)} s)`,
        target: `≤ ${TARGET_RATIO}×`,
        met: ratio <= TARGET_RATIO,
      },
      {
        figure: "peak RSS of the ingest process",
        value: `${rss.toFixed(0)} MB`,
        target: `≤ ${TARGET_RSS_MB} MB`,
        met: rss <= TARGET_RSS_MB,
      },
      {
        figure: "re-ingest of the identical dump",
        value: `${reingest.toFixed(1)} s (${(reingest / gunzip).toFixed(2)}× gunzip)`,
      },
    ],
  });
} finally {
  rmSync(work, { recursive: true, force: true });
}

function child(args: readonly string[]): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [RUN_TS, CHILD, ...args],
      { maxBuffer: 16 * 1024 * 1024, timeout: 15 * 60_000 },
      (error, stdout, stderr) => {
        if (error !== null) return reject(new Error(`${args[0]} child failed: ${error.message}\n${stderr}`));
        const line = stdout.trim().split("\n").at(-1) ?? "";
        resolve(JSON.parse(line) as ChildResult);
      },
    );
  });
}

function fmt(n: number): string {
  return n.toLocaleString("en-US");
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(0)} MB`;
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
