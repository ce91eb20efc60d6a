/**
 * The edge decision log of the real service (src/edge/main.ts, built as `npm run build` builds it, by the run's global
 * setup) on the host, against a loopback fake crates.io: with Config Store `log_endpoint` naming an endpoint, each
 * request for a filtered file writes one JSON line through `fastly:logger` (fastly_log), which the host appends to the
 * endpoint's file; without the key, nothing is written.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { formatRfc3339 } from "../../src/core/time.ts";
import { daysAgo, type FakeCratesIo, startFakeCratesIo } from "../support/fake-crates-io.ts";
import { type RunningComputeHost, startComputeHost } from "./compute-host.ts";

let fake: FakeCratesIo;
let folder: string;
let logged: string;
let quiet: string;
let host: RunningComputeHost;
let hostWithoutKey: RunningComputeHost;
const hostLog: string[] = [];
const YOUNG = daysAgo(1);

beforeAll(async () => {
  fake = await startFakeCratesIo({ gzip: true, maxAgeSeconds: 30, timeoutMs: 110_000 });
  await fake.publish({ name: "log", vers: "0.4.9", pubtime: daysAgo(30) });
  await fake.publish({ name: "log", vers: "0.4.10", pubtime: YOUNG });
  await fake.publish({ name: "flaky", vers: "1.0.0", pubtime: daysAgo(30) });
  // A file big enough for its scan to be kept (SCAN_CACHE_MIN_BYTES): 300 old versions, one of them yanked.
  for (let i = 0; i < 300; i++) await fake.publish({ name: "many", vers: `0.${i}.0`, pubtime: daysAgo(400 - i) });
  fake.yank("many", "0.7.0");
  folder = await mkdtemp(join(tmpdir(), "edge-decision-log-"));
  logged = join(folder, "decisions.log");
  quiet = join(folder, "quiet.log");
  const start = (config: Record<string, string>, file: string) =>
    startComputeHost({
      wasmPath: inject("edgeWasmPath"),
      listen: "127.0.0.1:0",
      backends: { crates_io_index: { url: fake.url, overrideHost: "index.crates.io" } },
      kvStores: { cooldown_times: {} },
      configStores: { cooldown_config: config },
      logEndpoints: { decisions: file },
      httpCache: "memory",
      log: (line) => hostLog.push(line),
    });
  host = await start({ log_endpoint: "decisions" }, logged);
  hostWithoutKey = await start({}, quiet);
  setTimeout(() => void Promise.all([host.close(), hostWithoutKey.close()]), 110_000).unref();
});

afterAll(async () => {
  await host?.close();
  await hostWithoutKey?.close();
  await fake?.close();
  if (folder) await rm(folder, { recursive: true, force: true });
});

/** The lines the requests of `run` added to the log, parsed, and the seconds (the edge's clock) around them. */
async function linesOf(file: string, run: () => Promise<void>) {
  const before = (await readFile(file, "utf8")).length;
  const from = Math.floor(Date.now() / 1000);
  await run();
  const to = Math.floor(Date.now() / 1000);
  const text = (await readFile(file, "utf8")).slice(before);
  const lines = text === "" ? [] : text.replace(/\n$/, "").split("\n");
  return { text, lines: lines.map((line) => JSON.parse(line) as Record<string, unknown>), from, to };
}

const get = async (base: RunningComputeHost, path: string, init?: RequestInit) => {
  const response = await fetch(`${base.url}${path}`, init);
  await response.arrayBuffer();
  return response.status;
};
const zero = { too_young: 0, yanked: 0, unknown_age: 0, unreadable: 0, trust_held: 0, trust_unknown: 0 };

describe("the edge decision log of the built service, under the local Compute host", () => {
  it("writes a line for a miss and one for the hit after it, exactly these fields, with no client address or header", async () => {
    const headers = { "user-agent": "cargo/1.91.0 (secret-agent)", "x-forwarded-for": "198.51.100.7" };
    const { text, lines, from, to } = await linesOf(logged, async () => {
      expect(await get(host, "7d/3/l/log", { headers })).toBe(200);
      expect(await get(host, "7d/3/l/log", { headers })).toBe(200);
    });
    const counts = { kept: 1, hidden: { ...zero, too_young: 1 }, next_visible: formatRfc3339(YOUNG + 7 * 86_400) };
    expect(lines.map(({ time, ...rest }) => rest)).toEqual([
      {
        window: "7d",
        crate: "log",
        status: 200,
        ...counts,
        upstream_status: 200,
        answer_cache: "miss",
        scan: "scanned",
      },
      { window: "7d", crate: "log", status: 200, ...counts, upstream_status: null, answer_cache: "hit", scan: null },
    ]);
    for (const { time } of lines) {
      expect(time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      const seconds = Date.parse(time as string) / 1000;
      expect(seconds).toBeGreaterThanOrEqual(from);
      expect(seconds).toBeLessThanOrEqual(to);
    }
    for (const secret of ["secret-agent", "cargo/", "198.51.100.7", "127.0.0.1"]) expect(text).not.toContain(secret);
  });

  it('says a big file\'s scan was "stored", then "kept" in another window', async () => {
    const { lines } = await linesOf(logged, async () => {
      expect(await get(host, "7d/ma/ny/many")).toBe(200);
      expect(await get(host, "3d/ma/ny/many")).toBe(200);
    });
    const counts = { status: 200, kept: 299, hidden: { ...zero, yanked: 1 }, next_visible: null, upstream_status: 200 };
    expect(lines.map(({ time, ...rest }) => rest)).toEqual([
      { window: "7d", crate: "many", ...counts, answer_cache: "miss", scan: "stored" },
      { window: "3d", crate: "many", ...counts, answer_cache: "miss", scan: "kept" },
    ]);
  });

  it("logs upstream's failure and a crate upstream does not have", async () => {
    fake.setFault("flaky", { status: 500, times: 1 });
    const { lines } = await linesOf(logged, async () => {
      expect(await get(host, "7d/fl/ak/flaky")).toBe(503);
      expect(await get(host, "7d/no/ne/none")).toBe(404);
    });
    const failed = { window: "7d", kept: null, hidden: null, next_visible: null, answer_cache: "miss", scan: null };
    expect(lines.map(({ time, ...rest }) => rest)).toEqual([
      { ...failed, crate: "flaky", status: 503, upstream_status: 500 },
      { ...failed, crate: "none", status: 404, upstream_status: 404 },
    ]);
  });

  it("writes nothing for config.json, /0d/, explain and status", async () => {
    const { lines } = await linesOf(logged, async () => {
      for (const path of ["7d/config.json", "0d/3/l/log", "7d/-/explain/log", "-/status"]) {
        expect(await get(host, path)).toBe(200);
      }
    });
    expect(lines).toEqual([]);
  });

  it("writes nothing without log_endpoint in the Config Store", async () => {
    hostLog.length = 0;
    const { lines } = await linesOf(quiet, async () => {
      expect(await get(hostWithoutKey, "7d/3/l/log")).toBe(200);
      expect(await get(hostWithoutKey, "7d/3/l/log")).toBe(200);
    });
    expect(lines).toEqual([]);
    expect(hostLog.filter((line) => line.includes(" :: "))).toEqual([]);
  });
});
