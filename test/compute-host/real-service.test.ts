/**
 * The real service (src/edge/main.ts, built as `npm run build` builds it, by the run's global setup) on the host in both
 * HTTP-cache modes, against a loopback fake crates.io: config.json and index files come through, filtered. In
 * "memory" mode the second read of a file comes from the host's HTTP cache; in "unsupported" mode (Viceroy's answers)
 * no route answers the runtime's "HTTP caching API is not enabled" 503, and every read goes to the backend.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { encodeCrateRecord } from "../../src/core/publish-times.ts";
import { ENGINE_PLAIN_LINES } from "../../src/edge/engine-index-scan.ts";
import { daysAgo, type FakeCratesIo, startFakeCratesIo } from "../support/fake-crates-io.ts";
import { type HttpCacheMode, type RunningComputeHost, startComputeHost } from "./compute-host.ts";

let fake: FakeCratesIo;
/** The KV record of `huge` (every version's time, as the ingest job writes it): its plain lines are found in place. */
let hugeRecord = "";
const hosts = new Map<HttpCacheMode, RunningComputeHost>();
const logs: string[] = [];

beforeAll(async () => {
  fake = await startFakeCratesIo({ gzip: true, maxAgeSeconds: 30, timeoutMs: 110_000 });
  await fake.publish({ name: "log", vers: "0.4.9", pubtime: daysAgo(30) });
  await fake.publish({ name: "log", vers: "0.4.10", pubtime: daysAgo(1) });
  // A file big enough for its scan to be kept (SCAN_CACHE_MIN_BYTES): 300 old versions and one a day old.
  for (let i = 0; i < 300; i++) await fake.publish({ name: "many", vers: `0.${i}.0`, pubtime: daysAgo(400 - i) });
  await fake.publish({ name: "many", vers: "1.0.0", pubtime: daysAgo(1) });
  // A file over the edge's plain-line thresholds (ENGINE_PLAIN_LINES: its bytes and its lines): 1,200 old versions
  // with a few deps each, one yanked, two young.
  const hugeTimes = new Map<string, number>();
  const deps = ["serde", "tokio", "anyhow"].map((name) => ({ name, req: "^1" }));
  for (let i = 0; i < 1_202; i++) {
    const vers = `0.${i}.0`;
    const pubtime = i < 1_200 ? daysAgo(1_300 - i) : daysAgo(1);
    await fake.publish({ name: "huge", vers, pubtime, deps, ...(i === 600 ? { yanked: true } : {}) });
    hugeTimes.set(vers, pubtime);
  }
  hugeRecord = encodeCrateRecord({ crate: "huge", versions: hugeTimes });
  for (const httpCache of ["memory", "unsupported"] as const) {
    const host = await startComputeHost({
      wasmPath: inject("edgeWasmPath"),
      listen: "127.0.0.1:0",
      backends: { crates_io_index: { url: fake.url, overrideHost: "index.crates.io" } },
      kvStores: { cooldown_times: {} },
      configStores: { cooldown_config: { upstream_max_ttl_seconds: "60" } },
      httpCache,
      log: (line) => logs.push(line),
    });
    setTimeout(() => void host.close(), 110_000).unref();
    hosts.set(httpCache, host);
  }
});

afterAll(async () => {
  for (const host of hosts.values()) await host.close();
  await fake?.close();
});

const upstreamReads = (path: string) => fake.requests.filter((request) => request.path === path).length;

describe("the real service on the host (memory HTTP cache)", () => {
  it("serves config.json from the upstream", async () => {
    const response = await fetch(`${hosts.get("memory")!.url}7d/config.json`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ dl: expect.stringContaining(fake.url) });
  });

  it("serves an index file with the too-young version hidden, the second time from the cache", async () => {
    const before = upstreamReads("/3/l/log");
    for (let i = 0; i < 2; i++) {
      const response = await fetch(`${hosts.get("memory")!.url}7d/3/l/log`);
      expect(response.status).toBe(200);
      const lines = (await response.text())
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { vers: string });
      expect(lines.map((line) => line.vers)).toEqual(["0.4.9"]);
      expect(response.headers.get("x-cooldown")).toContain("too-young=1");
      // Server-Timing is opt-in (Config Store server_timing).
      expect(response.headers.get("server-timing")).toBeNull();
    }
    expect(upstreamReads("/3/l/log") - before).toBe(1);
  });
});

describe('the real service on the host without the HTTP Cache API ("unsupported", as Viceroy)', () => {
  it.each(["7d/config.json", "0d/config.json", "7d/3/l/log", "0d/3/l/log", "-/status", "7d/-/explain/log"])(
    "answers %s with 200, not the runtime's HTTP-cache 503",
    async (path) => {
      const response = await fetch(`${hosts.get("unsupported")!.url}${path}`);
      const body = await response.text();
      expect(body).not.toContain("HTTP caching API is not enabled");
      expect(response.status, body).toBe(200);
    },
  );

  it("filters as in memory mode, and reads upstream every time (Viceroy caches nothing)", async () => {
    const before = upstreamReads("/3/l/log");
    for (let i = 0; i < 2; i++) {
      // The filtered answer itself is kept in the Core Cache (src/edge/answer-cache.ts), which Viceroy has: empty it,
      // so each request needs the upstream copy, which host caching here never keeps.
      hosts.get("unsupported")!.clearCoreCache();
      const response = await fetch(`${hosts.get("unsupported")!.url}7d/3/l/log`);
      expect(
        (await response.text())
          .trim()
          .split("\n")
          .map((line) => (JSON.parse(line) as { vers: string }).vers),
      ).toEqual(["0.4.9"]);
    }
    expect(upstreamReads("/3/l/log") - before).toBe(2);
  });
});

describe.each(["memory", "unsupported"] as const)(
  "kept scans and Server-Timing on the host (%s HTTP cache)",
  (httpCache) => {
    let host: RunningComputeHost;
    beforeAll(async () => {
      host = await startComputeHost({
        wasmPath: inject("edgeWasmPath"),
        listen: "127.0.0.1:0",
        backends: { crates_io_index: { url: fake.url, overrideHost: "index.crates.io" } },
        kvStores: { cooldown_times: { huge: hugeRecord } },
        configStores: { cooldown_config: { server_timing: "on" } },
        httpCache,
        log: (line) => logs.push(line),
      });
      setTimeout(() => void host.close(), 110_000).unref();
    });
    afterAll(() => host?.close());

    const get = async (path: string) => {
      const response = await fetch(`${host.url}${path}`);
      expect(response.status).toBe(200);
      return {
        body: await response.text(),
        etag: response.headers.get("etag"),
        timing: response.headers.get("server-timing"),
      };
    };

    it("decodes and scans a body once; a new window reads the kept scan and answers the same bytes", async () => {
      host.clearCoreCache();
      const first = await get("7d/ma/ny/many");
      expect(first.timing).toMatch(/(^|, )decode;dur=[\d.]+/);
      expect(first.timing).toMatch(/(^|, )scan;dur=[\d.]+/);
      // From the answer cache: nothing computed in this request, so no phases.
      expect((await get("7d/ma/ny/many")).timing).toBeNull();
      const kept = await get("2d/ma/ny/many");
      expect(kept.timing).toMatch(/(^|, )scan-cache;dur=[\d.]+/);
      expect(kept.timing).not.toMatch(/decode/);
      // The same window scanned afresh gives the same bytes and tag.
      host.clearCoreCache();
      const fresh = await get("2d/ma/ny/many");
      expect(fresh.timing).toMatch(/decode/);
      expect(kept.body).toBe(fresh.body);
      expect(kept.etag).toBe(fresh.etag);
      expect(kept.body.split("\n").filter(Boolean)).toHaveLength(300);
    });

    it("filters a big file by finding its plain lines in place, and answers what scanning it whole answers", async () => {
      host.clearCoreCache();
      const upstream = await (
        await fetch(`${fake.url}/hu/ge/huge`, { headers: { "accept-encoding": "identity" } })
      ).text();
      expect(Buffer.byteLength(upstream)).toBeGreaterThanOrEqual(ENGINE_PLAIN_LINES.fromBytes);
      const found = await get("7d/hu/ge/huge");
      expect(found.timing).toMatch(/(^|, )plain-lines;dur=[\d.]+/);
      expect(found.timing).not.toMatch(/(^|, )scan;/);
      const versions = found.body
        .split("\n")
        .filter(Boolean)
        .map((line) => (JSON.parse(line) as { vers: string }).vers);
      expect(versions).toHaveLength(1_199);
      expect(versions).not.toContain("0.600.0");
      expect(versions).not.toContain("0.1200.0");
      // Every kept line exactly as upstream wrote it, in upstream's order.
      const kept = upstream
        .split("\n")
        .filter((line) => line !== "" && versions.includes((JSON.parse(line) as { vers: string }).vers));
      expect(found.body).toBe(`${kept.join("\n")}\n`);
      // Its line shapes are kept: another window finds the plain lines from them, without decoding the body, and
      // answers what the same window computed afresh answers.
      const other = await get("2d/hu/ge/huge");
      expect(other.timing).toMatch(/(^|, )plain-lines;dur=/);
      expect(other.timing).toMatch(/(^|, )scan-cache;dur=/);
      expect(other.timing).not.toMatch(/(^|, )decode;/);
      host.clearCoreCache();
      const fresh = await get("2d/hu/ge/huge");
      expect(fresh.timing).toMatch(/(^|, )decode;dur=/);
      expect(other.body).toBe(fresh.body);
      expect(other.etag).toBe(fresh.etag);
    });

    it("scans a small file every time: it scans faster than a kept scan is read", async () => {
      host.clearCoreCache();
      await get("7d/3/l/log");
      const again = await get("2d/3/l/log");
      expect(again.timing).toMatch(/(^|, )decode;dur=/);
      expect(again.timing).not.toMatch(/scan-cache/);
    });
  },
);
