/**
 * Filtered responses per second from the Node server (`startCooldownServer`) for a typical ~100 KB index file with a
 * warm upstream cache, next to a bare node:http server that returns the same filtered bytes from memory. Both run
 * in their own processes, loaded in turn (A/B/A/B) by autocannon with the same connections and duration; the
 * figures are medians and their ratio. The target is about identity answers (filtering, not compressing); a second
 * pair, measured the same way, shows what answering cargo's `Accept-Encoding: gzip` costs on top. The server replays
 * a filtered answer within the lifetime the core gives it, so a warm file mostly measures that replay; the core's
 * work on a miss is timed separately, in-process. The same server with `/-/metrics` off runs beside them (identity
 * only), so the cost of the Prometheus counters shows as a ratio measured in the same rounds.
 *
 * Run: `npm run bench` (all) or `node bin/run-ts.js bench/server.bench.ts`.
 * Env: BENCH_SERVER_SECONDS (5), BENCH_SERVER_ROUNDS (5), BENCH_SERVER_CONNECTIONS (10),
 *      BENCH_PROFILE=1 to write a CPU profile of the Node server and print where its time goes.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { strongEtagFor } from "../src/core/etag.ts";
import { scanIndexFile } from "../src/core/index-file.ts";
import { filterIndexFile } from "../src/core/index-filter.ts";
import { defaultRules } from "../src/core/policy.ts";
import { formatRfc3339, type UnixSeconds } from "../src/core/time.ts";
import { CORPUS_2020_MISSING, corpusAvailable, readCorpus2020File } from "../test/support/corpus-2020.ts";
import { windowOf } from "../test/support/window-of.ts";
import { type LoadResult, runLoad } from "./support/autocannon-run.ts";
import { type ChildServer, startChildServer } from "./support/child-server.ts";
import { median } from "./support/median.ts";
import { printProfileSummary } from "./support/profile-summary.ts";
import { startStaticUpstream } from "./support/static-upstream.ts";
import { type BenchFigure, printBenchSkipped, printBenchSummary } from "./support/summary.ts";

const BENCH = "server";
/** 102.5 KB, 84 versions: close to the ~100 KB a popular crate's file weighs. */
const INDEX_PATH = "im/ag/image";
const WINDOW = "7d";
/** Versions are spaced this far apart, newest first, so the newest few are inside the window and get hidden. */
const SPACING_SECONDS = 2 * 86_400;
const SECONDS = Number(process.env.BENCH_SERVER_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_SERVER_ROUNDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_SERVER_CONNECTIONS ?? 10);
const PROFILE = process.env.BENCH_PROFILE === "1";
/** The proxy does real work per request (scan, filter, hash); half the speed of serving bytes is the bar. */
const TARGET_RATIO = 0.5;

/** How clients ask. Identity is the comparison the target is about; gzip is what cargo really sends. */
const SCENARIOS = [
  { name: "identity", requestHeaders: { "accept-encoding": "identity" }, target: TARGET_RATIO },
  { name: "gzip (as cargo asks)", requestHeaders: { "accept-encoding": "gzip" }, target: null },
] as const;

if (!corpusAvailable()) {
  printBenchSkipped(BENCH, CORPUS_2020_MISSING);
} else {
  await run();
}

interface Pair {
  readonly scenario: (typeof SCENARIOS)[number];
  readonly cooldownUrl: string;
  readonly bare: ChildServer;
  readonly cooldownRuns: Run[];
  readonly bareRuns: Run[];
  /** The same server with metrics off, for the identity scenario only. */
  readonly metricsOffRuns: Run[] | null;
}

/** One load run and the CPU the server under load spent on it (null where /proc is absent). */
interface Run extends LoadResult {
  readonly serverCpuMicrosecondsPerRequest: number | null;
}

async function run(): Promise<void> {
  const now: UnixSeconds = Math.floor(Date.now() / 1000);
  const original = (await readCorpus2020File(INDEX_PATH)).text;
  const text = withPubtimes(original, now);
  const work = mkdtempSync(join(tmpdir(), "bench-server-"));
  const upstream = await startStaticUpstream(new Map([[INDEX_PATH, text]]));
  const profileDir = join(work, "profile");
  const cooldown = await startChildServer(
    "./serve-cooldown.ts",
    [upstream.url, join(work, "timestamps.sqlite"), String(now)],
    {
      execArgv: PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [],
    },
  );
  const metricsOff = await startChildServer("./serve-cooldown.ts", [
    upstream.url,
    join(work, "timestamps-metrics-off.sqlite"),
    String(now),
    "metrics-off",
  ]);
  const metricsOffUrl = `${metricsOff.url}${WINDOW}/${INDEX_PATH}`;
  const pairs: Pair[] = [];
  try {
    const cooldownUrl = `${cooldown.url}${WINDOW}/${INDEX_PATH}`;
    for (const scenario of SCENARIOS) {
      // The bare server replays exactly what the cooldown server sent for this kind of request: status, headers, bytes.
      const answer = await rawGet(cooldownUrl, scenario.requestHeaders);
      const bare = await startChildServer("./serve-bytes.ts", []);
      pairs.push({
        scenario,
        cooldownUrl,
        bare,
        cooldownRuns: [],
        bareRuns: [],
        metricsOffRuns: scenario.name === "identity" ? [] : null,
      });
      await bare.send({ body: answer.body.toString("base64"), headers: answer.headers });
      const replayed = await rawGet(bare.url, scenario.requestHeaders);
      if (!replayed.body.equals(answer.body))
        throw new Error(`${scenario.name}: the bare server does not return the cooldown server's bytes`);
      if (scenario.name === "identity") {
        const hidden = lineCount(text) - lineCount(answer.body.toString("utf8"));
        if (hidden <= 0) throw new Error("no line was hidden; the benchmark would not measure filtering");
        console.log(
          `${BENCH}: ${INDEX_PATH} with pubtimes, ${text.length} bytes, ${lineCount(text)} lines; under /${WINDOW}/ ${hidden} hidden, ` +
            `${answer.body.byteLength} bytes served; ${CONNECTIONS} connections, ${SECONDS} s per run, ${ROUNDS} rounds`,
        );
      } else {
        console.log(
          `${BENCH}: ${scenario.name}: ${answer.headers["content-encoding"] ?? "identity"}, ${answer.body.byteLength} bytes served`,
        );
      }
    }

    const load = (url: string, pair: Pair, seconds: number) =>
      runLoad(url, { connections: CONNECTIONS, seconds, headers: pair.scenario.requestHeaders });
    // Unmeasured warm-up: JIT, connection pools and the proxy's upstream cache.
    for (const pair of pairs) {
      await load(pair.cooldownUrl, pair, 2);
      await load(pair.bare.url, pair, 2);
      if (pair.metricsOffRuns !== null) await load(metricsOffUrl, pair, 2);
    }
    const upstreamBefore = upstream.requests();
    for (let round = 0; round < ROUNDS; round++) {
      for (const pair of pairs) {
        const servers: [string, ChildServer, string, Run[]][] = [
          ["cooldown server", cooldown, pair.cooldownUrl, pair.cooldownRuns],
          ["bare node:http", pair.bare, pair.bare.url, pair.bareRuns],
        ];
        if (pair.metricsOffRuns !== null)
          servers.push(["cooldown server, metrics off", metricsOff, metricsOffUrl, pair.metricsOffRuns]);
        for (const [name, server, url, runs] of servers) {
          const cpuBefore = server.cpuSeconds();
          const result = await load(url, pair, SECONDS);
          const cpuAfter = server.cpuSeconds();
          if (result.non2xx > 0 || result.errors > 0)
            throw new Error(`${name}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
          const cpuPerRequest =
            cpuBefore === null || cpuAfter === null ? null : ((cpuAfter - cpuBefore) * 1e6) / result.requests;
          runs.push({ ...result, serverCpuMicrosecondsPerRequest: cpuPerRequest });
          console.log(
            `${BENCH}: round ${round + 1} ${pair.scenario.name} ${name}: ${result.requestsPerSecond.toFixed(0)} req/s, ` +
              `p50 ${result.latencyP50Ms} ms, p99 ${result.latencyP99Ms} ms` +
              (cpuPerRequest === null ? "" : `, server CPU ${cpuPerRequest.toFixed(0)} µs/request`),
          );
        }
      }
    }
    const upstreamDuring = upstream.requests() - upstreamBefore;

    const rps = (runs: Run[]) => median(runs.map((r) => r.requestsPerSecond));
    const p99 = (runs: Run[]) => median(runs.map((r) => r.latencyP99Ms));
    const cpuOf = (runs: Run[]) =>
      runs.every((r) => r.serverCpuMicrosecondsPerRequest !== null)
        ? median(runs.map((r) => r.serverCpuMicrosecondsPerRequest as number))
        : null;
    console.log(`\n${BENCH}: medians of ${ROUNDS} runs each`);
    console.log(
      "| client asks | cooldown req/s | bare req/s | ratio | cooldown p99 ms | bare p99 ms | cooldown CPU µs/req | bare CPU µs/req | CPU ratio |\n" +
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    );
    const figures: BenchFigure[] = [];
    for (const { scenario, cooldownRuns, bareRuns } of pairs) {
      const ratio = rps(cooldownRuns) / rps(bareRuns);
      const [cooldownCpu, bareCpu] = [cpuOf(cooldownRuns), cpuOf(bareRuns)];
      // Requests per server CPU-second, cooldown ÷ bare: the same ratio, robust to other load on the machine.
      const cpuRatio = cooldownCpu === null || bareCpu === null ? null : bareCpu / cooldownCpu;
      const fmt = (x: number | null, digits = 0) => (x === null ? "n/a" : x.toFixed(digits));
      console.log(
        `| ${scenario.name} | ${rps(cooldownRuns).toFixed(0)} | ${rps(bareRuns).toFixed(0)} | ${ratio.toFixed(2)}× | ${p99(cooldownRuns)} | ${p99(bareRuns)} ` +
          `| ${fmt(cooldownCpu)} | ${fmt(bareCpu)} | ${fmt(cpuRatio, 2)}× |`,
      );
      const label = `${(text.length / 1e3).toFixed(0)} KB file, ${scenario.name}`;
      figures.push(
        {
          figure: `${label}: cooldown server`,
          value: `${rps(cooldownRuns).toFixed(0)} req/s (p99 ${p99(cooldownRuns)} ms, ${fmt(cooldownCpu)} µs CPU/req)`,
        },
        {
          figure: `${label}: same bytes from bare node:http`,
          value: `${rps(bareRuns).toFixed(0)} req/s (p99 ${p99(bareRuns)} ms, ${fmt(bareCpu)} µs CPU/req)`,
        },
        scenario.target === null
          ? { figure: `${label}: cooldown ÷ bare`, value: `${ratio.toFixed(2)}× (per CPU-second ${fmt(cpuRatio, 2)}×)` }
          : {
              figure: `${label}: cooldown ÷ bare`,
              value: `${ratio.toFixed(2)}× (per CPU-second ${fmt(cpuRatio, 2)}×)`,
              target: `≥ ${scenario.target}×`,
              met: ratio >= scenario.target,
            },
      );
    }
    for (const { scenario, cooldownRuns, bareRuns, metricsOffRuns } of pairs) {
      if (metricsOffRuns === null) continue;
      const [on, off] = [cpuOf(cooldownRuns), cpuOf(metricsOffRuns)];
      const label = `${(text.length / 1e3).toFixed(0)} KB file, ${scenario.name}`;
      const onRatio = rps(cooldownRuns) / rps(metricsOffRuns);
      const offVsBare = rps(metricsOffRuns) / rps(bareRuns);
      console.log(
        `${BENCH}: ${scenario.name}: metrics off ${rps(metricsOffRuns).toFixed(0)} req/s (${offVsBare.toFixed(2)}× bare), ` +
          `metrics on ÷ off ${onRatio.toFixed(2)}×` +
          (on === null || off === null ? "" : `, server CPU ${on.toFixed(0)} vs ${off.toFixed(0)} µs/request`),
      );
      figures.push(
        {
          figure: `${label}: cooldown server, metrics off`,
          value: `${rps(metricsOffRuns).toFixed(0)} req/s (${offVsBare.toFixed(2)}× bare; p99 ${p99(metricsOffRuns)} ms)`,
        },
        {
          figure: `${label}: metrics on ÷ metrics off`,
          value:
            `${onRatio.toFixed(2)}× req/s` +
            (on === null || off === null ? "" : ` (CPU per request ${on.toFixed(0)} vs ${off.toFixed(0)} µs)`),
        },
      );
    }
    console.log(`upstream requests while measuring: ${upstreamDuring} (0 = the cache was warm)`);
    figures.push({
      figure: "upstream requests while measuring",
      value: String(upstreamDuring),
      target: "0 (warm cache)",
      met: upstreamDuring === 0,
    });
    // The server replays a filtered answer while its lifetime lasts, so the runs above mostly measure that replay.
    // What a miss costs the core (decode, scan, filter, encode, ETag) is measured here, in this process.
    const miss = await coreMissMicroseconds(text, now);
    console.log(
      `${BENCH}: one filtered answer computed by the core (a replay-cache miss): ${miss.toFixed(0)} µs CPU, in-process`,
    );
    figures.push({
      figure: `${(text.length / 1e3).toFixed(0)} KB file: core work per replay-cache miss`,
      value: `${miss.toFixed(0)} µs CPU (${(1e6 / miss).toFixed(0)} /s per core)`,
    });
    printBenchSummary({ bench: BENCH, figures });
  } finally {
    await cooldown.stop();
    await metricsOff.stop();
    for (const pair of pairs) await pair.bare.stop();
    await upstream.close();
    if (PROFILE) {
      for (const name of readdirSync(profileDir)) printProfileSummary(join(profileDir, name));
      console.log(`${BENCH}: CPU profile kept in ${profileDir} (open it in Chrome DevTools › Performance)`);
    } else {
      rmSync(work, { recursive: true, force: true });
    }
  }
}

/** Median CPU time for the core to turn upstream bytes into a filtered answer: decode, scan, filter, encode, ETag. */
async function coreMissMicroseconds(text: string, now: UnixSeconds): Promise<number> {
  const bytes = new TextEncoder().encode(text);
  const window = windowOf(WINDOW);
  const rules = defaultRules(false);
  const crate = INDEX_PATH.slice(INDEX_PATH.lastIndexOf("/") + 1);
  const once = async () => {
    const decoded = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    const filtered = filterIndexFile(crate, scanIndexFile(decoded), null, window, now, rules);
    return strongEtagFor(new TextEncoder().encode(filtered.body));
  };
  // CPU time, not wall time: other load on the machine would otherwise be counted as the core's.
  const batches: number[] = [];
  for (let batch = 0; batch < 6; batch++) {
    const start = process.cpuUsage();
    for (let i = 0; i < 500; i++) await once();
    const used = process.cpuUsage(start);
    if (batch > 0) batches.push((used.user + used.system) / 500);
  }
  return median(batches);
}

/** A GET whose body comes back as sent (fetch would decode it), with the headers worth replaying. */
async function rawGet(
  url: string,
  headers: Readonly<Record<string, string>>,
): Promise<{ body: Buffer; headers: Record<string, string> }> {
  const answer = await request(url, { headers });
  const body = Buffer.from(await answer.body.arrayBuffer());
  if (answer.statusCode !== 200) throw new Error(`${url} answered ${answer.statusCode}: ${body.toString("utf8")}`);
  const replayable: Record<string, string> = {};
  for (const [name, value] of Object.entries(answer.headers)) {
    // node:http sets these per connection and per response.
    if (
      typeof value === "string" &&
      !["date", "connection", "keep-alive", "content-length", "transfer-encoding"].includes(name)
    ) {
      replayable[name] = value;
    }
  }
  return { body, headers: replayable };
}

/** Adds a `pubtime` to every line, as crates.io does when it rewrites a file: newest line now − 2 days, then older. */
function withPubtimes(text: string, now: UnixSeconds): string {
  const lines = text.split("\n").filter((line) => line !== "");
  return lines
    .map(
      (line, i) => `${line.slice(0, -1)},"pubtime":"${formatRfc3339(now - (lines.length - i) * SPACING_SECONDS)}"}\n`,
    )
    .join("");
}

function lineCount(text: string): number {
  return text.split("\n").filter((line) => line !== "").length;
}
