import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DEFAULT_POLICY } from "../../src/core/policy-document.ts";
import { DEFAULT_CACHE_MEMORY_BYTES } from "../../src/node/cache-memory.ts";
import { type CooldownServerOptions, startCooldownServer } from "../../src/server/start-server.ts";
import { META_KEYS } from "../../src/store/meta-keys.ts";
import { TimestampDatabase } from "../../src/store/timestamp-database.ts";
import { FixtureUpstream } from "../support/fixture-upstream.ts";
import { FixedClock } from "../support/in-memory-ports.ts";
import { header, send, testClient } from "./http-client.ts";
import { DAY, indexFile } from "./index-lines.ts";

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0) / 1000;
const CACHED = { "cache-control": "public, max-age=300" };

let upstream: FixtureUpstream;
let directory: string;
const servers: { close(): Promise<void> }[] = [];

beforeEach(async () => {
  upstream = await FixtureUpstream.start({ lifetimeMs: 60_000 });
  directory = mkdtempSync(join(tmpdir(), "cooldown-metrics-"));
  // kept: 1.0.0 (old enough); hidden: 1.0.1 yanked, 1.1.0 two days old, 1.2.0 of unknown age.
  upstream.set("/se/rd/serde", {
    body: indexFile("serde", [
      { vers: "1.0.0", publishedAt: NOW - 30 * DAY },
      { vers: "1.0.1", publishedAt: NOW - 20 * DAY, yanked: true },
      { vers: "1.1.0", publishedAt: NOW - 2 * DAY },
      { vers: "1.2.0" },
    ]),
    headers: CACHED,
  });
  upstream.set("/br/ok/broken", { body: "upstream is having a bad day\n", status: 500 });
  upstream.set("/sl/ow/slow", { body: indexFile("slow", [{ vers: "1.0.0" }]), delayMs: 5_000 });
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await upstream.close();
  rmSync(directory, { recursive: true, force: true });
});

afterAll(async () => {
  await testClient.close();
});

async function start(options: CooldownServerOptions = {}) {
  const server = await startCooldownServer({
    listen: "127.0.0.1:0",
    upstream: upstream.url,
    dbPath: join(directory, `timestamps-${servers.length}.sqlite`),
    clock: new FixedClock(NOW),
    log: () => {},
    ...options,
  });
  servers.push(server);
  return server;
}

/** Every sample of the exposition, `name{labels}` → value, in the order written. */
async function scrape(url: string): Promise<Map<string, number>> {
  const answer = await send(`${url}-/metrics`);
  expect(answer.status).toBe(200);
  expect(header(answer, "content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  const samples = new Map<string, number>();
  for (const line of answer.body.toString().split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

/** The samples of one metric family whose name starts with `prefix`, by name and labels. */
function family(samples: Map<string, number>, prefix: string): Record<string, number> {
  return Object.fromEntries([...samples].filter(([name]) => name.startsWith(prefix)));
}

describe("/-/metrics", () => {
  it("counts a scripted mix exactly: requests, upstream outcomes, both caches, lines by verdict and reason, data ages", async () => {
    const server = await start();
    const database = new TimestampDatabase(join(directory, "timestamps-0.sqlite"));
    database.setMeta(META_KEYS.dumpWatermark, String(NOW - 3_600));
    database.close();

    expect((await send(`${server.url}7d/se/rd/serde`)).status).toBe(200); // decided: replay miss, upstream miss
    expect((await send(`${server.url}7d/se/rd/serde`)).status).toBe(200); // replayed
    expect((await send(`${server.url}0d/se/rd/serde`)).status).toBe(200); // pass-through from the upstream cache
    expect((await send(`${server.url}7d/br/ok/broken`)).status).toBe(503); // upstream 500
    expect((await send(`${server.url}7d/NOT/a/path`)).status).toBe(404);
    expect((await send(`${server.url}-/status`)).status).toBe(200);
    const samples = await scrape(server.url);

    expect(family(samples, "crates_cooldown_requests_total")).toEqual({
      'crates_cooldown_requests_total{route="index",status="200"}': 2,
      'crates_cooldown_requests_total{route="pass-through",status="200"}': 1,
      'crates_cooldown_requests_total{route="index",status="503"}': 1,
      'crates_cooldown_requests_total{route="refused",status="404"}': 1,
      'crates_cooldown_requests_total{route="status",status="200"}': 1,
    });
    expect(family(samples, "crates_cooldown_upstream_requests_total")).toEqual({
      'crates_cooldown_upstream_requests_total{outcome="2xx"}': 1,
      'crates_cooldown_upstream_requests_total{outcome="5xx"}': 1,
    });
    expect(samples.get('crates_cooldown_upstream_request_duration_seconds_count{outcome="2xx"}')).toBe(1);
    expect(samples.get('crates_cooldown_upstream_request_duration_seconds_count{outcome="5xx"}')).toBe(1);
    expect(family(samples, "crates_cooldown_upstream_cache_requests_total")).toEqual({
      'crates_cooldown_upstream_cache_requests_total{result="miss"}': 2,
      'crates_cooldown_upstream_cache_requests_total{result="hit"}': 1,
    });
    expect(family(samples, "crates_cooldown_replay_cache_requests_total")).toEqual({
      'crates_cooldown_replay_cache_requests_total{result="miss"}': 2,
      'crates_cooldown_replay_cache_requests_total{result="hit"}': 1,
    });
    expect(family(samples, "crates_cooldown_index_lines_total")).toEqual({
      'crates_cooldown_index_lines_total{verdict="kept",reason="old-enough"}': 1,
      'crates_cooldown_index_lines_total{verdict="hidden",reason="yanked"}': 1,
      'crates_cooldown_index_lines_total{verdict="hidden",reason="too-young"}': 1,
      'crates_cooldown_index_lines_total{verdict="hidden",reason="unknown-age"}': 1,
    });
    // Only the dump has happened: the feed and the KV push have no age to report.
    expect(family(samples, "crates_cooldown_data_age_seconds")).toEqual({
      'crates_cooldown_data_age_seconds{source="dump"}': 3_600,
    });
    expect(samples.get('crates_cooldown_cache_memory_bytes{cache="upstream"}')).toBeGreaterThan(0);
    expect(samples.get('crates_cooldown_cache_memory_bytes{cache="replay"}')).toBeGreaterThan(0);
    expect(samples.get("crates_cooldown_cache_memory_limit_bytes")).toBe(DEFAULT_CACHE_MEMORY_BYTES);
    expect(samples.has("process_cpu_user_seconds_total")).toBe(true);
    expect(samples.has("nodejs_heap_size_used_bytes")).toBe(true);
    // No crate, path or client data in any label.
    expect([...samples.keys()].join("\n")).not.toMatch(/serde|broken|NOT|7d|127\.0\.0\.1/);

    // The scrape itself is counted once it is answered.
    const again = await scrape(server.url);
    expect(again.get('crates_cooldown_requests_total{route="metrics",status="200"}')).toBe(1);
  });

  it("counts an upstream that does not answer in time as a timeout, and one that cannot be reached as a connection error", async () => {
    const server = await start({ upstreamTimeoutMs: 300 });
    expect((await send(`${server.url}7d/sl/ow/slow`)).status).toBe(503);
    await vi.waitFor(async () =>
      expect((await scrape(server.url)).get('crates_cooldown_upstream_requests_total{outcome="timeout"}')).toBe(1),
    );

    const closed = createServer().listen(0, "127.0.0.1");
    await new Promise((resolve) => closed.once("listening", resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = await start({ upstream: `http://127.0.0.1:${port}` });
    expect((await send(`${unreachable.url}7d/se/rd/serde`)).status).toBe(503);
    expect(
      (await scrape(unreachable.url)).get('crates_cooldown_upstream_requests_total{outcome="connection-error"}'),
    ).toBe(1);
  });

  it("keeps each server's counts to itself, answers HEAD, refuses other methods, and is not under a window", async () => {
    const first = await start();
    const second = await start();
    await send(`${first.url}7d/se/rd/serde`);
    expect((await scrape(first.url)).get('crates_cooldown_requests_total{route="index",status="200"}')).toBe(1);
    expect(
      (await scrape(second.url)).get('crates_cooldown_requests_total{route="index",status="200"}'),
    ).toBeUndefined();
    const head = await send(`${first.url}-/metrics`, { method: "HEAD" });
    expect([head.status, head.body.byteLength]).toEqual([200, 0]);
    expect((await send(`${first.url}-/metrics`, { method: "POST" })).status).toBe(405);
    expect((await send(`${first.url}7d/-/metrics`)).status).toBe(404);
  });

  it("counts a version shown by an exception under its grant, not under its age", async () => {
    const server = await start({
      policy: {
        ...DEFAULT_POLICY,
        exceptions: [{ crate: "serde", version: "1.1.0", reason: "needed now", expires: NOW + DAY }],
      },
    });
    await send(`${server.url}7d/se/rd/serde`);
    expect(family(await scrape(server.url), "crates_cooldown_index_lines_total")).toEqual({
      'crates_cooldown_index_lines_total{verdict="kept",reason="old-enough"}': 1,
      'crates_cooldown_index_lines_total{verdict="kept",reason="exception"}': 1,
      'crates_cooldown_index_lines_total{verdict="hidden",reason="yanked"}': 1,
      'crates_cooldown_index_lines_total{verdict="hidden",reason="unknown-age"}': 1,
    });
  });

  it("is not served with metrics off", async () => {
    const server = await start({ metrics: false });
    const answer = await send(`${server.url}-/metrics`);
    expect(answer.status).toBe(404);
  });
});
