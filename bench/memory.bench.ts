/**
 * Peak memory of `crates-cooldown serve` under a sustained churn: 32 keep-alive connections ask for random files of the
 * real 2020 index (37,755 files, 194 MB) under random windows (1–30 days, 1–72 hours), as gzip, br or identity, for
 * 4 minutes, so both caches fill and keep evicting. The server is the real CLI with its default `--cache-memory` in
 * its own process; its peak RSS (VmHWM) is the figure, next to its RSS when it started listening (the runtime's own
 * baseline) and what its caches held at the end (its /-/metrics). Upstream answers gzip-coded, an hour fresh, as
 * index.crates.io does; `--pre-pubtime-inference on` makes every 2020 version old enough, so the filtered answers are
 * as large as they can be.
 *
 * Run: `npm run bench` (all) or `node bin/run-ts.js bench/memory.bench.ts`.
 * Env: BENCH_MEMORY_SECONDS (240), BENCH_MEMORY_CONNECTIONS (32), BENCH_MEMORY_CACHE (unset: the default bound;
 *      else a --cache-memory value).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { Pool } from "undici";
import { DEFAULT_CACHE_MEMORY_BYTES } from "../src/node/cache-memory.ts";
import { CORPUS_2020_MISSING, corpusAvailable, readCorpus2020 } from "../test/support/corpus-2020.ts";
import { type BenchFigure, printBenchSkipped, printBenchSummary } from "./support/summary.ts";

const BENCH = "memory";
const SECONDS = Number(process.env.BENCH_MEMORY_SECONDS ?? 240);
const CONNECTIONS = Number(process.env.BENCH_MEMORY_CONNECTIONS ?? 32);
const CACHE_FLAG = process.env.BENCH_MEMORY_CACHE;
/** The bar for the default bound: peak RSS under churn, 450 MB (429 MiB). */
const TARGET_PEAK_BYTES = 450e6;
const WINDOWS = [
  ...Array.from({ length: 30 }, (_, i) => `${i + 1}d`),
  ...Array.from({ length: 72 }, (_, i) => `${i + 1}h`),
];
const CODINGS = ["gzip", "gzip", "gzip", "br", "identity"];
const CLI = fileURLToPath(new URL("../bin/crates-cooldown.js", import.meta.url));
const MIB = 1024 * 1024;

if (!corpusAvailable()) {
  printBenchSkipped(BENCH, CORPUS_2020_MISSING);
} else {
  await run();
}

async function run(): Promise<void> {
  const files = new Map<string, { identity: Buffer; gzip?: Buffer }>();
  for await (const file of readCorpus2020()) files.set(`/${file.path}`, { identity: Buffer.from(file.bytes) });
  const paths = [...files.keys()];
  const upstream = createServer((request, response) => {
    const file = files.get(request.url ?? "");
    if (file === undefined) return response.writeHead(404).end();
    file.gzip ??= gzipSync(file.identity, { level: 1 });
    response.writeHead(200, {
      "content-type": "text/plain",
      "content-encoding": "gzip",
      "cache-control": "public, max-age=3600",
      etag: `"${file.identity.byteLength}"`,
      "content-length": String(file.gzip.byteLength),
    });
    response.end(file.gzip);
  });
  upstream.listen(0, "127.0.0.1");
  await once(upstream, "listening");
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/`;
  const work = mkdtempSync(join(tmpdir(), "bench-memory-"));
  const server = spawn(
    process.execPath,
    [
      CLI,
      "serve",
      "--listen",
      "127.0.0.1:0",
      "--db",
      join(work, "timestamps.sqlite"),
      "--upstream",
      upstreamUrl,
      "--pre-pubtime-inference",
      "on",
      "--quiet",
      ...(CACHE_FLAG === undefined ? [] : ["--cache-memory", CACHE_FLAG]),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  try {
    const url = await listeningUrl(server);
    const baseline = memoryOf(server.pid as number).rss;
    const bound = CACHE_FLAG ?? `${DEFAULT_CACHE_MEMORY_BYTES / MIB} MiB (default)`;
    console.log(
      `${BENCH}: ${files.size} files, ${WINDOWS.length} windows, ${CONNECTIONS} connections for ${SECONDS} s; ` +
        `--cache-memory ${bound}; RSS at start ${(baseline / MIB).toFixed(0)} MiB`,
    );
    const pool = new Pool(new URL(url).origin, { connections: CONNECTIONS, pipelining: 1 });
    const stopAt = performance.now() + SECONDS * 1000;
    let requests = 0;
    let failures = 0;
    const statuses = new Map<number, number>();
    const client = async () => {
      while (performance.now() < stopAt) {
        const path = paths[Math.floor(Math.random() * paths.length)] as string;
        const window = WINDOWS[Math.floor(Math.random() * WINDOWS.length)] as string;
        const coding = CODINGS[Math.floor(Math.random() * CODINGS.length)] as string;
        try {
          const answer = await pool.request({
            path: `/${window}${path}`,
            method: "GET",
            headers: { "accept-encoding": coding },
          });
          await answer.body.arrayBuffer();
          statuses.set(answer.statusCode, (statuses.get(answer.statusCode) ?? 0) + 1);
          requests++;
        } catch {
          failures++;
        }
      }
    };
    const samples: number[] = [];
    const sampler = setInterval(() => {
      const { rss } = memoryOf(server.pid as number);
      samples.push(rss);
      if (samples.length % 30 === 0)
        console.log(`${BENCH}: ${samples.length} s: RSS ${(rss / MIB).toFixed(0)} MiB, ${requests} requests so far`);
    }, 1000);
    await Promise.all(Array.from({ length: CONNECTIONS }, client));
    clearInterval(sampler);
    const { peak } = memoryOf(server.pid as number);
    const metrics = await (await fetch(`${url}-/metrics`)).text();
    await pool.close();
    const cacheBytes = (cache: string) =>
      Number(new RegExp(`^crates_cooldown_cache_memory_bytes\\{cache="${cache}"\\} (\\d+)$`, "m").exec(metrics)?.[1]);
    const held = cacheBytes("upstream") + cacheBytes("replay");
    const limit = Number(/^crates_cooldown_cache_memory_limit_bytes (\d+)$/m.exec(metrics)?.[1]);
    console.log(
      `${BENCH}: ${requests} requests (${(requests / SECONDS).toFixed(0)}/s), ${failures} failed, statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
    console.log(
      `${BENCH}: peak RSS ${(peak / MIB).toFixed(0)} MiB; RSS at start ${(baseline / MIB).toFixed(0)} MiB; ` +
        `caches held ${(held / MIB).toFixed(0)} MiB of ${(limit / MIB).toFixed(0)} MiB (upstream ${(cacheBytes("upstream") / MIB).toFixed(0)}, ` +
        `replay ${(cacheBytes("replay") / MIB).toFixed(0)})`,
    );
    const gauge = (name: string) =>
      Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, "m").exec(metrics)?.[1]) / MIB;
    console.log(
      `${BENCH}: at the end: V8 heap ${gauge("nodejs_heap_size_used_bytes").toFixed(0)} MiB used of ${gauge("nodejs_heap_size_total_bytes").toFixed(0)} MiB, ` +
        `external ${gauge("nodejs_external_memory_bytes").toFixed(0)} MiB, RSS ${(memoryOf(server.pid as number).rss / MIB).toFixed(0)} MiB`,
    );
    const figures: BenchFigure[] = [
      {
        figure: `peak RSS, ${SECONDS} s of churn at ${CONNECTIONS} connections, --cache-memory ${bound}`,
        value: `${(peak / MIB).toFixed(0)} MiB (at start ${(baseline / MIB).toFixed(0)} MiB; ${requests} requests, ${failures} failed)`,
        ...(CACHE_FLAG === undefined
          ? { target: "≤ 450 MB (429 MiB)", met: peak <= TARGET_PEAK_BYTES && failures === 0 }
          : {}),
      },
      {
        figure: "cache bytes held at the end, every cache together",
        value: `${(held / MIB).toFixed(0)} MiB`,
        target: `≤ the bound (${(limit / MIB).toFixed(0)} MiB)`,
        met: held <= limit,
      },
    ];
    printBenchSummary({ bench: BENCH, figures });
  } finally {
    server.kill("SIGTERM");
    await once(server, "exit");
    upstream.close();
    upstream.closeAllConnections();
    rmSync(work, { recursive: true, force: true });
  }
}

/** The URL `serve` prints once it listens; its stdout is drained from then on, so it never blocks on a full pipe. */
function listeningUrl(child: ChildProcess): Promise<string> {
  let text = "";
  return new Promise((resolve, reject) => {
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      text += chunk;
      const line = /^listening on (\S+)$/m.exec(text);
      if (line !== null) resolve(line[1] as string);
    });
    child.once("exit", (code) => reject(new Error(`serve exited (${code}) before listening: ${text}`)));
  });
}

/** RSS now and its peak so far (VmHWM), in bytes, from /proc. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status)?.[1]) * 1024;
  return { rss: kib("VmRSS"), peak: kib("VmHWM") };
}
