/**
 * The real edge artifact's cost per request: `src/edge/main.ts` built exactly as `npm run build` builds it, served by
 * the local Compute host (test/compute-host) from a loopback upstream, one request at a time, with a warm in-memory
 * HTTP cache (so the upstream copy costs a cache hit, as on a busy POP). For each file the same bytes are also asked
 * through `/0d/` (pass-through, the naive way: no scan, no decision) in alternating rounds, so "filtered ÷ pass-through"
 * is measured side by side.
 *
 * The answer cache (src/edge/answer-cache.ts, Core Cache): every filtered file is asked cold (the host's Core Cache
 * emptied just before, so the policy is read from KV, the body decoded and scanned and the answer computed)
 * and hot (the same request again: one policy lookup and one answer lookup in the Core Cache) in the same round, and
 * beside them the floor of a hot request: a program that does nothing but answer the same bytes from the Core Cache
 * (support/floor-guest.ts), under a second host. Then requests per second for a hot mix of files through the
 * host.
 *
 * Per request the host reports: instantiating a fresh instance, `_start` wall time, the worker thread's CPU time in
 * `_start` (CLOCK_THREAD_CPUTIME_ID: the guest's own work with the host's JavaScript for each hostcall, where Fastly's
 * hostcalls are native; what Fastly bills and limits is the guest's), and the time the guest waited on the host. Then the host's own throughput on a route that touches no backend.
 *
 * `--enable-aot` (weval) is not compared: its binary downloads from GitHub at first use, which no registry this
 * machine reaches serves, so that build cannot be made here.
 *
 *   node bin/run-ts.js bench/edge-host.bench.ts
 * Env: BENCH_EDGE_ROUNDS (15 per file), BENCH_EDGE_SECONDS (5, throughput run).
 * Needs ../shared/fixtures/crates-io-2020; prints why and stops without it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeCrateRecord } from "../src/core/publish-times.ts";
import type { UnixSeconds } from "../src/core/time.ts";
import { CRATES_IO_BACKEND } from "../src/edge/backend-upstream.ts";
import { CONFIG_STORE, SETTING_KEYS } from "../src/edge/edge-settings.ts";
import { PUBLISH_TIMES_STORE } from "../src/edge/kv-publish-times.ts";
import {
  type ComputeHostOptions,
  type RequestTiming,
  type RunningComputeHost,
  startComputeHost,
} from "../test/compute-host/compute-host.ts";
import { BENCH_ADVISORIES } from "../test/engine/build-selftest.ts";
import {
  CORPUS_2020_MISSING,
  corpusAvailable,
  readCorpus2020,
  withSyntheticPubtimes,
} from "../test/support/corpus-2020.ts";
import { buildEdgeWasm } from "../test/support/edge-wasm.global.ts";
import { runLoad } from "./support/autocannon-run.ts";
import { type FloorHost, startFloorHost } from "./support/floor-host.ts";
import { median } from "./support/median.ts";
import { reportedTiming } from "./support/reported-timing.ts";
import { startStaticUpstream } from "./support/static-upstream.ts";
import { type BenchFigure, printBenchSkipped, printBenchSummary } from "./support/summary.ts";

const BENCH = "edge-host";
const ROUNDS = Number(process.env.BENCH_EDGE_ROUNDS ?? 15);
const SECONDS = Number(process.env.BENCH_EDGE_SECONDS ?? 5);
/** The guest's clock, and the synthetic publish times around it (as the in-engine self-test uses). */
const NOW: UnixSeconds = Date.parse("2026-09-21T12:00:00Z") / 1000;
const WEB_SYS = "we/b-/web-sys";
const SERDE = "se/rd/serde";
/** Every 100th file of the corpus: ordinary requests. */
const TYPICAL_EVERY = 100;
/** Fastly's default CPU limit per request. */
const CPU_LIMIT_MS = 50;

interface Picked {
  readonly label: string;
  readonly path: string;
  readonly text: string;
  readonly lines: number;
}

interface Measured {
  readonly filtered: RequestTiming[];
  readonly passThrough: RequestTiming[];
}

if (!corpusAvailable()) {
  printBenchSkipped(BENCH, CORPUS_2020_MISSING);
} else {
  await main();
}

async function main(): Promise<void> {
  const { named, typical, mostVersions } = await pickFiles();
  const files = new Map<string, string>([...named, ...typical].map((file) => [file.path, file.text]));
  const upstream = await startStaticUpstream(files);
  const directory = mkdtempSync(join(tmpdir(), "edge-host-bench-"));
  const timings: RequestTiming[] = [];
  let host: RunningComputeHost | undefined;
  let bare: FloorHost | undefined;
  try {
    const wasmPath = join(directory, "main.wasm");
    const built = performance.now();
    await buildEdgeWasm(wasmPath);
    console.log(`built src/edge/main.ts as npm run build does: ${((performance.now() - built) / 1000).toFixed(1)} s`);
    const crate = mostVersions.path.slice(mostVersions.path.lastIndexOf("/") + 1);
    /** Every host here: the same wasm, upstream, KV record (advisories for the crate with the most versions) and clock. */
    const startBenchHost = (options: Pick<ComputeHostOptions, "workers" | "configStores" | "onTiming">) =>
      startComputeHost({
        wasmPath,
        listen: "127.0.0.1:0",
        backends: { [CRATES_IO_BACKEND]: { url: upstream.url } },
        kvStores: {
          [PUBLISH_TIMES_STORE]: {
            [crate]: encodeCrateRecord({ crate, versions: new Map(), advisories: BENCH_ADVISORIES }),
          },
        },
        httpCache: "memory",
        clock: () => NOW * 1000,
        log: () => {},
        ...options,
      });
    const started = performance.now();
    host = await startBenchHost({
      workers: 1,
      // The store exists so a round can switch the answer cache and kept scans off and on (answer_cache, scan_cache).
      configStores: { [CONFIG_STORE]: {} },
      onTiming: (timing) => timings.push(timing),
    });
    console.log(`host started (module compiled, worker ready): ${(performance.now() - started).toFixed(0)} ms`);
    const base = host.url;
    const ask = async (path: string): Promise<RequestTiming> => {
      const before = timings.length;
      const response = await fetch(`${base}${path}`, { headers: { "accept-encoding": "identity" } });
      if (response.status !== 200) throw new Error(`${path}: ${response.status} ${await response.text()}`);
      await response.arrayBuffer();
      return reportedTiming(timings, before, path);
    };

    // Warm: V8's tiers for the host and the guest's code, and the HTTP cache's copy of every file.
    for (const file of [...named, ...typical]) {
      await ask(`7d/${file.path}`);
      await ask(`0d/${file.path}`);
    }
    for (let i = 0; i < 20; i++) await ask(`7d/${named[0]!.path}`);

    // The floor of a hot request: a program that only answers the same bytes from the Core Cache, under the same host.
    bare = await startFloorHost();
    for (const file of [...named, ...typical]) {
      const answer = await fetch(`${base}7d/${file.path}`, { headers: { "accept-encoding": "identity" } });
      await bare.store(file.path, new Uint8Array(await answer.arrayBuffer()));
    }
    const askBare = (path: string) => (bare as FloorHost).cacheHit(path);
    for (const file of named) for (let i = 0; i < 5; i++) await askBare(file.path);

    const figures: BenchFigure[] = [];
    const askCold = async (path: string): Promise<RequestTiming> => {
      host?.clearCoreCache();
      return ask(path);
    };
    /**
     * The same request with the answer cache and kept scans switched off and the Core Cache emptied, as for a cold
     * request: what every filtered request cost before either existed, when the policy too was read from KV on every
     * request (a cold request reads it from KV as well, the Core Cache being empty).
     */
    const askUncached = async (path: string): Promise<RequestTiming> => {
      host?.clearCoreCache();
      host?.setConfigEntry(CONFIG_STORE, SETTING_KEYS.answerCache, "off");
      host?.setConfigEntry(CONFIG_STORE, SETTING_KEYS.scanCache, "off");
      try {
        return await ask(path);
      } finally {
        host?.setConfigEntry(CONFIG_STORE, SETTING_KEYS.answerCache, "on");
        host?.setConfigEntry(CONFIG_STORE, SETTING_KEYS.scanCache, "on");
      }
    };
    console.log(
      `\none request at a time, warm HTTP cache, medians of ${ROUNDS} rounds of cold /7d/, hot /7d/, the same answer from a bare cache hit, /7d/ with both caches off and /0d/ side by side:`,
    );
    console.log(
      "| file | lines | MB | instantiate | cold _start wall | cold _start CPU | host wait | hot _start CPU | hot ÷ cold | bare cache hit _start CPU | hot ÷ bare | caches off _start CPU | cold ÷ off | /0d/ _start CPU | cold ÷ /0d/ |",
    );
    console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    const coldHot = new Map<string, { cold: number; hot: number }>();
    for (const file of named) {
      const measured: Measured & { hot: RequestTiming[]; bare: RequestTiming[]; off: RequestTiming[] } = {
        filtered: [],
        passThrough: [],
        hot: [],
        bare: [],
        off: [],
      };
      for (let round = 0; round < ROUNDS; round++) {
        measured.filtered.push(await askCold(`7d/${file.path}`));
        measured.hot.push(await ask(`7d/${file.path}`));
        measured.bare.push(await askBare(file.path));
        measured.off.push(await askUncached(`7d/${file.path}`));
        measured.passThrough.push(await ask(`0d/${file.path}`));
      }
      const off = medianOf(measured.off, (t) => t.startCpuMs);
      const cpu = medianOf(measured.filtered, (t) => t.startCpuMs);
      const hot = medianOf(measured.hot, (t) => t.startCpuMs);
      const bareHit = medianOf(measured.bare, (t) => t.startCpuMs);
      const passCpu = medianOf(measured.passThrough, (t) => t.startCpuMs);
      coldHot.set(file.path, { cold: cpu, hot });
      const row = {
        instantiate: medianOf(measured.filtered, (t) => t.instantiateMs),
        wall: medianOf(measured.filtered, (t) => t.startWallMs),
        wait: medianOf(measured.filtered, (t) => t.hostWaitMs),
      };
      console.log(
        `| ${file.label} | ${file.lines} | ${(Buffer.byteLength(file.text) / 1e6).toFixed(2)} | ${ms(row.instantiate)} | ${ms(row.wall)} | ${ms(cpu)} | ${ms(row.wait)} | ${ms(hot)} | ${(hot / cpu).toFixed(2)} | ${ms(bareHit)} | ${(hot / bareHit).toFixed(2)} | ${ms(off)} | ${(cpu / off).toFixed(2)} | ${ms(passCpu)} | ${(cpu / passCpu).toFixed(1)}× |`,
      );
      figures.push(
        {
          figure: `${file.label}: _start CPU per cold filtered request (wall ${ms(row.wall)}; answer cache and kept scans off ${ms(off)}, cold ÷ off ${(cpu / off).toFixed(2)}; /0d/ of the same bytes ${ms(passCpu)}, ${(cpu / passCpu).toFixed(1)}×)`,
          value: ms(cpu),
          target: `< ${CPU_LIMIT_MS} ms (Fastly's default limit)`,
          met: cpu < CPU_LIMIT_MS,
        },
        {
          figure: `${file.label}: _start CPU per hot request (answer cache hit), hot ÷ cold ${(hot / cpu).toFixed(2)}; a bare cache hit of the same bytes ${ms(bareHit)}, that ÷ cold ${(bareHit / cpu).toFixed(2)}`,
          value: ms(hot),
          ...(file.path === WEB_SYS ? { target: `≤ 1/5 of cold (${ms(cpu / 5)})`, met: hot <= cpu / 5 } : {}),
        },
      );
    }

    const typicalFiltered: RequestTiming[] = [];
    const typicalHot: RequestTiming[] = [];
    const typicalBare: RequestTiming[] = [];
    const typicalPass: RequestTiming[] = [];
    const typicalOff: RequestTiming[] = [];
    for (const file of typical) {
      typicalFiltered.push(await askCold(`7d/${file.path}`));
      typicalHot.push(await ask(`7d/${file.path}`));
      typicalBare.push(await askBare(file.path));
      typicalOff.push(await askUncached(`7d/${file.path}`));
      typicalPass.push(await ask(`0d/${file.path}`));
    }
    const typicalOffCpu = medianOf(typicalOff, (t) => t.startCpuMs);
    const typicalCpu = medianOf(typicalFiltered, (t) => t.startCpuMs);
    const typicalHotCpu = medianOf(typicalHot, (t) => t.startCpuMs);
    const typicalBareCpu = medianOf(typicalBare, (t) => t.startCpuMs);
    const typicalPassCpu = medianOf(typicalPass, (t) => t.startCpuMs);
    const instantiate = medianOf(typicalFiltered, (t) => t.instantiateMs);
    console.log(
      `| typical (every ${TYPICAL_EVERY}th file, ${typical.length} files, median) | ${median(typical.map((f) => f.lines))} | – | ${ms(instantiate)} | ${ms(medianOf(typicalFiltered, (t) => t.startWallMs))} | ${ms(typicalCpu)} | ${ms(medianOf(typicalFiltered, (t) => t.hostWaitMs))} | ${ms(typicalHotCpu)} | ${(typicalHotCpu / typicalCpu).toFixed(2)} | ${ms(typicalBareCpu)} | ${(typicalHotCpu / typicalBareCpu).toFixed(2)} | ${ms(typicalOffCpu)} | ${(typicalCpu / typicalOffCpu).toFixed(2)} | ${ms(typicalPassCpu)} | ${(typicalCpu / typicalPassCpu).toFixed(1)}× |`,
    );
    figures.push(
      {
        figure: `typical file (every ${TYPICAL_EVERY}th of the corpus, median of ${typical.length}): _start CPU per cold filtered request (answer cache and kept scans off ${ms(typicalOffCpu)}, cold ÷ off ${(typicalCpu / typicalOffCpu).toFixed(2)}; /0d/ ${ms(typicalPassCpu)}, ${(typicalCpu / typicalPassCpu).toFixed(1)}×)`,
        value: ms(typicalCpu),
      },
      {
        figure: `typical file: _start CPU per hot request (answer cache hit), hot ÷ cold ${(typicalHotCpu / typicalCpu).toFixed(2)}; a bare cache hit of the same bytes ${ms(typicalBareCpu)}`,
        value: ms(typicalHotCpu),
        target: `≤ 1/2 of cold (${ms(typicalCpu / 2)})`,
        met: typicalHotCpu <= typicalCpu / 2,
      },
      { figure: "fresh instance per request: instantiate (median, typical files)", value: ms(instantiate) },
    );

    // A hot mix through the host: two workers, as `npm run serve:edge` runs; every file already in the answer cache.
    const mix = [...typical.map((file) => file.path), SERDE, named[0]!.path];
    await host.close();
    host = undefined;
    host = await startBenchHost({ workers: 2 });
    const mixBase = host.url;
    for (const path of mix) await (await fetch(`${mixBase}7d/${path}`)).arrayBuffer();
    const hotMix = await loadMix(
      mix.map((path) => `${mixBase}7d/${path}`),
      4,
      SECONDS,
    );
    console.log(
      `\nhot mix (${mix.length} files: ${typical.length} typical, serde, web-sys), 2 workers, 4 connections: ${hotMix.toFixed(0)} req/s`,
    );
    figures.push({
      figure: `hot mix through the host (${mix.length} files incl. serde and web-sys, answer cache hits), 2 workers, 4 connections`,
      value: `${hotMix.toFixed(0)} req/s`,
    });

    // The host itself, the same two workers: a route that needs no backend and no cache (a refused path).
    const refused = await fetch(`${host.url}7d/3/X/x`);
    if (refused.status !== 404) throw new Error(`a refused path answered ${refused.status}: ${await refused.text()}`);
    const load = await runLoad(`${host.url}7d/3/X/x`, { connections: 4, seconds: SECONDS });
    console.log(
      `\nhost throughput, 2 workers, 4 connections, a refused path (no backend): ${load.requestsPerSecond.toFixed(0)} req/s, p50 ${load.latencyP50Ms} ms`,
    );
    figures.push({
      figure: "host throughput, 2 workers, a route without backend (fresh instance each)",
      value: `${load.requestsPerSecond.toFixed(0)} req/s`,
    });
    figures.push({
      figure: "--enable-aot (weval) build",
      value: "not measured: weval downloads its binary from GitHub at first use; unreachable here",
    });
    printBenchSummary({ bench: BENCH, figures });
  } finally {
    await host?.close();
    await bare?.close();
    await upstream.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

/**
 * web-sys, the largest file, the crate with the most versions (with advisories in KV) and every 100th file, each with
 * a `pubtime` on every line as crates.io writes files now: every version two days after the previous one, the newest
 * an hour old, so /7d/ hides the last few.
 */
async function pickFiles(): Promise<{ named: Picked[]; typical: Picked[]; mostVersions: Picked }> {
  let webSys: Picked | undefined;
  let serde: Picked | undefined;
  let largest: Picked | undefined;
  let mostVersions: Picked | undefined;
  const typical: Picked[] = [];
  let index = 0;
  for await (const file of readCorpus2020()) {
    const picked = withPubtimes(file.path, file.text);
    if (file.path === WEB_SYS) webSys = { ...picked, label: `${WEB_SYS} (long lines)` };
    if (file.path === SERDE) serde = picked;
    if (largest === undefined || Buffer.byteLength(picked.text) > Buffer.byteLength(largest.text))
      largest = { ...picked, label: `${file.path} (largest file)` };
    if (mostVersions === undefined || picked.lines > mostVersions.lines)
      mostVersions = { ...picked, label: `${file.path} (most versions, ${BENCH_ADVISORIES.length} advisories)` };
    if (index % TYPICAL_EVERY === 0) typical.push(picked);
    index++;
  }
  if (webSys === undefined || largest === undefined || mostVersions === undefined)
    throw new Error("the corpus lacks the files this benchmark names");
  if (serde === undefined) throw new Error("the corpus lacks se/rd/serde");
  return { named: [webSys, serde, largest, mostVersions], typical, mostVersions };
}

function withPubtimes(path: string, text: string): Picked {
  const dated = withSyntheticPubtimes(text, NOW);
  return { label: path, path, text: dated.text, lines: dated.times.length };
}

/** Requests per second over `seconds`, `connections` loops each asking the next URL of the mix in turn. */
async function loadMix(urls: readonly string[], connections: number, seconds: number): Promise<number> {
  const until = performance.now() + seconds * 1000;
  let done = 0;
  let next = 0;
  const loop = async () => {
    while (performance.now() < until) {
      const url = urls[next++ % urls.length] as string;
      const response = await fetch(url, { headers: { "accept-encoding": "identity" } });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`${url}: ${response.status}`);
      done++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: connections }, loop));
  return done / ((performance.now() - started) / 1000);
}

function medianOf(timings: readonly RequestTiming[], read: (timing: RequestTiming) => number | null): number {
  const values = timings.map(read).filter((value): value is number => value !== null);
  return values.length === 0 ? Number.NaN : median(values);
}

function ms(value: number): string {
  return Number.isNaN(value) ? "n/a" : `${value.toFixed(2)} ms`;
}
