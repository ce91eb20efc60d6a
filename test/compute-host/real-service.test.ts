/**
 * The real service (src/edge/main.ts, built as `npm run build` builds it, into a temp dir) on the host in "memory"
 * mode, against a loopback fake crates.io: config.json and an index file come through, filtered, and the second
 * read of the index file comes from the host's HTTP cache.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { daysAgo, startFakeCratesIo, type FakeCratesIo } from "../support/fake-crates-io.ts";
import { buildGuest, type BuiltGuest } from "./build-guest.ts";
import { startComputeHost, type RunningComputeHost } from "./compute-host.ts";

let service: BuiltGuest;
let fake: FakeCratesIo;
let host: RunningComputeHost;
const logs: string[] = [];

beforeAll(async () => {
  [service, fake] = await Promise.all([buildGuest("src/edge/main.ts"), startFakeCratesIo({ gzip: true, maxAgeSeconds: 30, timeoutMs: 110_000 })]);
  await fake.publish({ name: "log", vers: "0.4.9", pubtime: daysAgo(30) });
  await fake.publish({ name: "log", vers: "0.4.10", pubtime: daysAgo(1) });
  host = await startComputeHost({
    wasmPath: service.wasmPath,
    listen: "127.0.0.1:0",
    backends: { crates_io_index: { url: fake.url, overrideHost: "index.crates.io" } },
    kvStores: { cooldown_times: {} },
    configStores: { cooldown_config: { upstream_max_ttl_seconds: "60" } },
    httpCache: "memory",
    log: (line) => logs.push(line),
  });
  setTimeout(() => void host.close(), 110_000).unref();
});

afterAll(async () => {
  await host?.close();
  await fake?.close();
  await service?.remove();
});

describe("the real service on the host (memory HTTP cache)", () => {
  it("serves config.json from the upstream", async () => {
    const response = await fetch(`${host.url}7d/config.json`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ dl: expect.stringContaining(fake.url) });
  });

  it("serves an index file with the too-young version hidden, the second time from the cache", async () => {
    const upstreamReads = () => fake.requests.filter((request) => request.path === "/3/l/log").length;
    for (let i = 0; i < 2; i++) {
      const response = await fetch(`${host.url}7d/3/l/log`);
      expect(response.status).toBe(200);
      const lines = (await response.text()).trim().split("\n").map((line) => JSON.parse(line) as { vers: string });
      expect(lines.map((line) => line.vers)).toEqual(["0.4.9"]);
      expect(response.headers.get("x-cooldown")).toContain("too-young=1");
    }
    expect(upstreamReads()).toBe(1);
  });
});
