/**
 * `kv push` at crates.io scale: a generated timestamp database of 250,000 crates (~3,000,000 versions, a heavy-tailed
 * number of versions per crate) pushed whole to the fake Fastly batch API on loopback (in its own process), then
 * ~3,000 crates changed and pushed again. Prints records/s, the share of time spent preparing (SQLite read, record
 * encoding, base64 NDJSON) against sending, and whether the incremental push sent exactly the changed crates.
 *
 * Preparing is also timed alone, BENCH_KV_ROUNDS times over the same pending crates (the median is the figure): the
 * in-push figure swings with whatever else runs on the machine.
 *
 * Run: `npm run bench` (all) or `node bin/run-ts.js bench/kv-push.bench.ts`.
 * Env: BENCH_KV_CRATES (250000), BENCH_KV_CHANGED (3000), BENCH_KV_ROUNDS (5).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { FRESHNESS_KV_KEY } from "../src/core/freshness.ts";
import { type KvPushSummary, pendingKvLines, pushToKv } from "../src/kv/kv-push.ts";
import { type PublishTimeRow, TimestampDatabase } from "../src/store/timestamp-database.ts";
import { FAKE_BATCHES_PATH, FAKE_FASTLY_TOKEN, type RecordedBatch } from "../test/support/fake-fastly-api.ts";
import { startChildServer } from "./support/child-server.ts";
import { median } from "./support/median.ts";
import { printBenchSummary } from "./support/summary.ts";

const BENCH = "kv-push";
const CRATES = Number(process.env.BENCH_KV_CRATES ?? 250_000);
const CHANGED = Number(process.env.BENCH_KV_CHANGED ?? 3_000);
const ROUNDS = Number(process.env.BENCH_KV_ROUNDS ?? 5);
/** The bar for preparing records. */
const TARGET_PREPARE_RATE = 50_000;
const STORE = "bench-store";

const work = mkdtempSync(join(tmpdir(), "bench-kv-push-"));
const database = new TimestampDatabase(join(work, "timestamps.sqlite"));
const api = await startChildServer("./fake-fastly-api-child.ts", []);
try {
  const random = mulberry32(20_261_122);
  const fillStart = performance.now();
  const outcome = database.record(generatedRows(CRATES, random));
  const versions = outcome.added;
  console.log(
    `${BENCH}: database of ${fmt(CRATES)} crates, ${fmt(versions)} versions written in ${secs(performance.now() - fillStart)}`,
  );

  // Before the push, while every crate is pending: the exact lines the push will send, prepared and dropped.
  const prepareRates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    let lines = 0;
    let bytes = 0;
    for (const line of pendingKvLines(database, STORE)) {
      lines++;
      bytes += line.text.length + 1;
    }
    const rate = lines / ((performance.now() - start) / 1000);
    prepareRates.push(rate);
    console.log(
      `${BENCH}: preparing alone, round ${round + 1}: ${fmt(lines)} lines (${(bytes / 1e6).toFixed(1)} MB) at ${fmt(Math.round(rate))} records/s`,
    );
  }
  const prepareAlone = median(prepareRates);

  const full = await push();
  const fullBatches = await batchesSince(0);
  const fullKeys = crateKeys(fullBatches);
  const bodyBytes = fullBatches.reduce((sum, batch) => sum + batch.bodyBytes, 0);
  report("full push", full);
  console.log(
    `${BENCH}: full push sent ${fmt(fullKeys.length)} crate keys in ${fullBatches.length} requests, ${(bodyBytes / 1e6).toFixed(1)} MB of NDJSON`,
  );

  // A day's change: new versions for CHANGED random crates, plus re-reports of known times that must not count.
  const changed = new Set<string>();
  while (changed.size < Math.min(CHANGED, CRATES)) changed.add(crateName(Math.floor(random() * CRATES)));
  const rows: PublishTimeRow[] = [...changed].map((crate) => ({
    crate,
    version: "99.0.0",
    publishedAt: 1_800_000_000,
  }));
  const unchanged = database.db
    .prepare(
      "SELECT crate, version, published_at FROM versions WHERE crate NOT IN (SELECT value FROM json_each(?)) LIMIT 1000",
    )
    .all(JSON.stringify([...changed])) as { crate: string; version: string; published_at: number }[];
  for (const row of unchanged) rows.push({ crate: row.crate, version: row.version, publishedAt: row.published_at });
  const day = database.record(rows);
  console.log(
    `${BENCH}: changed ${fmt(day.changedCrates)} crates (${fmt(unchanged.length)} known times re-reported, ignored)`,
  );

  const before = fullBatches.length;
  const incremental = await push();
  const incrementalKeys = crateKeys(await batchesSince(before));
  report("incremental push", incremental);
  const exact = incrementalKeys.length === changed.size && incrementalKeys.every((key) => changed.has(key));
  console.log(
    `${BENCH}: incremental push sent ${fmt(incrementalKeys.length)} crate keys; exactly the ${fmt(changed.size)} changed crates: ${exact ? "yes" : "NO"}`,
  );

  const prepareRate = full.cratesSent / (full.prepareMs / 1000);
  const prepareCpuRate = full.cratesSent / (full.prepareCpuMs / 1000);
  console.log(
    `${BENCH}: preparing: ${fmt(Math.round(prepareRate))} records/s by the clock, ${fmt(Math.round(prepareCpuRate))} records/s per CPU-second; load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")} on ${availableParallelism()} CPUs`,
  );
  printBenchSummary({
    bench: BENCH,
    figures: [
      {
        figure: `preparing ${fmt(CRATES)} records (SQLite → codec → base64 NDJSON), median of ${ROUNDS}`,
        value: `${fmt(Math.round(prepareAlone))} records/s`,
        target: `≥ ${fmt(TARGET_PREPARE_RATE)} records/s`,
        met: prepareAlone >= TARGET_PREPARE_RATE,
      },
      {
        figure: "preparing inside the full push",
        value: `${fmt(Math.round(prepareRate))} records/s (${fmt(Math.round(prepareCpuRate))} per CPU-second)`,
      },
      {
        figure: "full push end to end (fake API on loopback, own process)",
        value: `${fmt(Math.round(full.cratesSent / (full.durationMs / 1000)))} records/s, ${secs(full.durationMs)}, ${share(full)} preparing`,
      },
      {
        figure: `incremental push after ${fmt(changed.size)} changed crates`,
        value: `${fmt(incrementalKeys.length)} crates sent in ${incremental.batches} requests, ${secs(incremental.durationMs)}`,
        target: "exactly the changed crates",
        met: exact,
      },
    ],
  });
} finally {
  database.close();
  await api.stop();
  rmSync(work, { recursive: true, force: true });
}

async function push(): Promise<KvPushSummary> {
  const summary = await pushToKv({ database, storeId: STORE, token: FAKE_FASTLY_TOKEN, apiUrl: api.url });
  if (summary.stop !== null || summary.rejected.length > 0)
    throw new Error(`push did not complete: ${JSON.stringify(summary.stop ?? summary.rejected.slice(0, 3))}`);
  return summary;
}

function report(what: string, s: KvPushSummary): void {
  console.log(
    `${BENCH}: ${what}: ${fmt(s.cratesSent)} crates in ${s.batches} requests, ${secs(s.durationMs)} ` +
      `(preparing ${secs(s.prepareMs)} = ${share(s)}, sending ${secs(s.sendMs)}), ${fmt(Math.round(s.cratesSent / (s.durationMs / 1000)))} records/s end to end`,
  );
}

async function batchesSince(index: number): Promise<RecordedBatch[]> {
  const response = await fetch(`${api.url}${FAKE_BATCHES_PATH}`);
  return ((await response.json()) as RecordedBatch[]).slice(index);
}

function crateKeys(batches: readonly RecordedBatch[]): string[] {
  return batches
    .filter((batch) => batch.status === 200)
    .flatMap((batch) => batch.keys)
    .filter((key) => key !== FRESHNESS_KV_KEY);
}

/** Versions per crate: log-normal (median ~6, mean ~12, a few crates with hundreds), like crates.io's long tail. */
function* generatedRows(crates: number, random: () => number): Generator<PublishTimeRow> {
  for (let i = 0; i < crates; i++) {
    const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const count = Math.max(1, Math.min(3_000, Math.round(Math.exp(1.75 + 1.2 * normal))));
    const crate = crateName(i);
    let at = 1_420_000_000 + Math.floor(random() * 300_000_000);
    for (let v = 0; v < count; v++) {
      at += 1 + Math.floor(random() * 2_000_000);
      yield { crate, version: `${v >> 6}.${(v >> 3) & 7}.${v & 7}`, publishedAt: at };
    }
  }
}

function crateName(i: number): string {
  return `bench-${i.toString(36)}-crate`;
}

/** Small seeded PRNG, so every run measures the same database. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function share(s: KvPushSummary): string {
  return `${Math.round((100 * s.prepareMs) / s.durationMs)} %`;
}

function fmt(n: number): string {
  return n.toLocaleString("en-US");
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}
