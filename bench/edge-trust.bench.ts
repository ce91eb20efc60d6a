/**
 * What trust signals cost the edge per request, for the crate with the most versions in the 2020 corpus: the real
 * edge artifact (`src/edge/main.ts` built as `npm run build` builds it) under the local Compute host, cold requests
 * (Core Cache emptied before each, so the record is read and decoded and every line decided), against two hosts side
 * by side in alternating rounds:
 * - without: the crate's record in format 2 (every version's time, the benchmark advisories), as before trust data;
 * - with: the same plus its trust section (format 3) as the job writes it at that moment, every version known, a new
 *   publisher on one release in BENCH_TRUST_EVERY (10: far more than on crates.io), an owner added 20 releases ago.
 * The 2020 corpus has no publishers: they are derived deterministically from each version's position (one account
 * for most releases, a different account for every BENCH_TRUST_EVERY-th).
 * Target: the request with trust data costs ≤ 1.10× the one without (median `_start` CPU of the guest thread).
 *
 *   node bin/run-ts.js bench/edge-trust.bench.ts
 * Env: BENCH_EDGE_ROUNDS (25), BENCH_TRUST_EVERY (10). Needs ../shared/fixtures/crates-io-2020; prints why and stops without it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scanIndexFile } from "../src/core/index-file.ts";
import { encodeCrateRecord } from "../src/core/publish-times.ts";
import type { UnixSeconds } from "../src/core/time.ts";
import { computeCrateTrust, TRUST_RELEVANCE, type VersionProvenance } from "../src/core/trust-signals.ts";
import { CRATES_IO_BACKEND } from "../src/edge/backend-upstream.ts";
import { PUBLISH_TIMES_STORE } from "../src/edge/kv-publish-times.ts";
import { type RequestTiming, type RunningComputeHost, startComputeHost } from "../test/compute-host/compute-host.ts";
import { BENCH_ADVISORIES } from "../test/engine/build-selftest.ts";
import {
  CORPUS_2020_MISSING,
  corpusAvailable,
  readCorpus2020,
  withSyntheticPubtimes,
} from "../test/support/corpus-2020.ts";
import { buildEdgeWasm } from "../test/support/edge-wasm.global.ts";
import { median } from "./support/median.ts";
import { reportedTiming } from "./support/reported-timing.ts";
import { startStaticUpstream } from "./support/static-upstream.ts";
import { printBenchSkipped, printBenchSummary } from "./support/summary.ts";

const BENCH = "edge-trust";
const ROUNDS = Number(process.env.BENCH_EDGE_ROUNDS ?? 25);
const NOW: UnixSeconds = Date.parse("2026-09-21T12:00:00Z") / 1000;
const TARGET = 1.1;
const EVERY = Number(process.env.BENCH_TRUST_EVERY ?? 10);

if (!corpusAvailable()) printBenchSkipped(BENCH, CORPUS_2020_MISSING);
else await main();

async function main(): Promise<void> {
  let found: { path: string; text: string; times: readonly number[] } | undefined;
  for await (const file of readCorpus2020()) {
    const dated = withSyntheticPubtimes(file.text, NOW);
    if (found === undefined || dated.times.length > found.times.length)
      found = { path: file.path, text: dated.text, times: dated.times };
  }
  if (found === undefined) throw new Error("empty corpus");
  const most = found;
  const crate = most.path.slice(most.path.lastIndexOf("/") + 1);
  const versions = scanIndexFile(most.text).lines.map((line) => line.version as string);
  const times = new Map(versions.map((version, i) => [version, most.times[i] as number]));
  const provenance: VersionProvenance[] = versions.map((version, i) => ({
    version,
    publishedAt: most.times[i] as number,
    via: "token",
    publisherId: i % EVERY === EVERY - 1 ? 1000 + i : 1,
    publisher: i % EVERY === EVERY - 1 ? `guest-${i}` : "maintainer",
    trustedSource: null,
  }));
  // As the job writes it at NOW: versions too old for a signal to matter get no entry (TRUST_RELEVANCE).
  const trust = computeCrateTrust(
    provenance,
    [
      { owner: "maintainer", addedAt: (most.times[0] as number) - 60 },
      { owner: "helper", addedAt: most.times[versions.length - 20] as number },
    ],
    NOW - TRUST_RELEVANCE,
  );
  const without = encodeCrateRecord({ crate, versions: times, advisories: BENCH_ADVISORIES });
  const withTrust = encodeCrateRecord({ crate, versions: times, advisories: BENCH_ADVISORIES, trust });
  console.log(
    `${BENCH}: ${most.path}, ${versions.length} versions; record ${without.length} bytes without trust, ${withTrust.length} with (${trust.signals.size} versions with signals)`,
  );

  const upstream = await startStaticUpstream(new Map([[most.path, most.text]]));
  const directory = mkdtempSync(join(tmpdir(), "edge-trust-bench-"));
  const hosts: RunningComputeHost[] = [];
  try {
    const wasmPath = join(directory, "main.wasm");
    await buildEdgeWasm(wasmPath);
    const start = async (record: string) => {
      const timings: RequestTiming[] = [];
      const host = await startComputeHost({
        wasmPath,
        listen: "127.0.0.1:0",
        workers: 1,
        backends: { [CRATES_IO_BACKEND]: { url: upstream.url } },
        kvStores: { [PUBLISH_TIMES_STORE]: { [crate]: record } },
        httpCache: "memory",
        clock: () => NOW * 1000,
        log: () => {},
        onTiming: (timing) => timings.push(timing),
      });
      hosts.push(host);
      const ask = async (): Promise<RequestTiming> => {
        host.clearCoreCache();
        const before = timings.length;
        const response = await fetch(`${host.url}7d/${most.path}`, { headers: { "accept-encoding": "identity" } });
        if (response.status !== 200) throw new Error(`${response.status} ${await response.text()}`);
        await response.arrayBuffer();
        return reportedTiming(timings, before, `7d/${most.path}`);
      };
      return ask;
    };
    const askWithout = await start(without);
    const askWith = await start(withTrust);
    for (let i = 0; i < 10; i++) {
      await askWithout();
      await askWith();
    }
    const cpuWithout: number[] = [];
    const cpuWith: number[] = [];
    const ratios: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const a = (await askWithout()).startCpuMs;
      const b = (await askWith()).startCpuMs;
      if (a === null || b === null) throw new Error("no CPU time from the host (needs /proc/thread-self/schedstat)");
      cpuWithout.push(a);
      cpuWith.push(b);
      ratios.push(b / a);
    }
    const ratio = median(ratios);
    console.log(
      `${BENCH}: median _start CPU of a cold /7d/ request: ${median(cpuWithout).toFixed(2)} ms without trust data, ${median(cpuWith).toFixed(2)} ms with; median of the rounds' ratios ${ratio.toFixed(3)} (range ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`,
    );
    printBenchSummary({
      bench: BENCH,
      figures: [
        {
          figure: `${most.path} (${versions.length} versions): cold request with trust data ÷ without`,
          value: `${ratio.toFixed(3)}× (${median(cpuWith).toFixed(2)} vs ${median(cpuWithout).toFixed(2)} ms _start CPU)`,
          target: `≤ ${TARGET}×`,
          met: ratio <= TARGET,
        },
      ],
    });
  } finally {
    for (const host of hosts) await host.close();
    await upstream.close();
    rmSync(directory, { recursive: true, force: true });
  }
}
