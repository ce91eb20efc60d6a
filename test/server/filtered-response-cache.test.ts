import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { BoundedMemoryCacheStore } from "../../src/node/bounded-cache-store.ts";
import { CacheMemory, ENTRY_OVERHEAD_BYTES } from "../../src/node/cache-memory.ts";
import { compressSync } from "../../src/server/client-compression.ts";
import { FilteredResponseCache } from "../../src/server/filtered-response-cache.ts";
import { type RunningCooldownServer, startCooldownServer } from "../../src/server/start-server.ts";
import { TimestampDatabase } from "../../src/store/timestamp-database.ts";
import { FixtureUpstream } from "../support/fixture-upstream.ts";
import { FixedClock } from "../support/in-memory-ports.ts";
import { header, send, testClient } from "./http-client.ts";
import { DAY, indexFile, versionsIn } from "./index-lines.ts";

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0) / 1000;
const PATH = "/se/rd/serde";

let upstream: FixtureUpstream;
let directory: string;
let dbPath: string;
let server: RunningCooldownServer;
let clock: FixedClock;
let log: string[];

beforeEach(async () => {
  upstream = await FixtureUpstream.start();
  directory = mkdtempSync(join(tmpdir(), "cooldown-memo-"));
  dbPath = join(directory, "timestamps.sqlite");
  clock = new FixedClock(NOW);
  log = [];
  upstream.set(PATH, {
    body: indexFile("serde", [
      ...Array.from({ length: 30 }, (_, i) => ({ vers: `1.0.${i}`, publishedAt: NOW - 60 * DAY + i })),
      { vers: "1.1.0", publishedAt: NOW - 2 * DAY },
      { vers: "1.2.0" },
    ]),
    headers: { "cache-control": "public, max-age=3600" },
  });
  server = await startCooldownServer({
    listen: "127.0.0.1:0",
    upstream: upstream.url,
    dbPath,
    clock,
    log: (line) => log.push(line),
  });
});

afterEach(async () => {
  await server.close();
  await upstream.close();
  rmSync(directory, { recursive: true, force: true });
});

afterAll(async () => {
  await testClient.close();
});

const url = (window: string) => `${server.url}${window}${PATH}`;

describe("the filtered-response cache in front of the core", () => {
  it("replays a filtered file byte for byte with the core's headers and a max-age counting down", async () => {
    const first = await send(url("7d"));
    clock.at = NOW + 30;
    const second = await send(url("7d"));
    expect(second.body.equals(first.body)).toBe(true);
    expect(header(second, "etag")).toBe(header(first, "etag"));
    expect(header(second, "x-cooldown")).toBe(header(first, "x-cooldown"));
    // 60 s: 1.2.0's age is unknown, so the core lets the file be reused only briefly.
    expect(header(first, "cache-control")).toBe("public, max-age=60");
    expect(header(second, "cache-control")).toBe("public, max-age=30");
  });

  it("stops replaying once the lifetime the core gave is over", async () => {
    await send(url("3d"));
    clock.at = NOW + 59;
    const replayed = await send(url("3d"));
    expect(versionsIn(replayed.body.toString())).not.toContain("1.1.0");
    clock.at = NOW + DAY; // 1.1.0 matures under /3d/ now
    const matured = await send(url("3d"));
    expect(versionsIn(matured.body.toString())).toContain("1.1.0");
  });

  it("stops replaying the moment another connection commits to the timestamp database", async () => {
    const before = await send(url("1d"));
    expect(versionsIn(before.body.toString())).not.toContain("1.2.0");
    const ingest = new TimestampDatabase(dbPath);
    ingest.record([{ crate: "serde", version: "1.2.0", publishedAt: NOW - 5 * DAY }]);
    ingest.close();
    const after = await send(url("1d"));
    expect(versionsIn(after.body.toString())).toContain("1.2.0");
    expect(header(after, "etag")).not.toBe(header(before, "etag"));
  });

  it("answers If-None-Match with 304 from the cache, for identity and gzip tags alike", async () => {
    const plain = await send(url("7d"));
    const gzipped = await send(url("7d"), { headers: { "accept-encoding": "gzip" } });
    expect(header(gzipped, "content-encoding")).toBe("gzip");
    expect(gunzipSync(gzipped.body).equals(plain.body)).toBe(true);
    expect(header(gzipped, "etag")).toBe(`${(header(plain, "etag") as string).slice(0, -1)}-gzip"`);
    const notModified = await send(url("7d"), {
      headers: { "accept-encoding": "gzip", "if-none-match": header(gzipped, "etag") as string },
    });
    expect(notModified.status).toBe(304);
    expect(header(notModified, "etag")).toBe(header(gzipped, "etag"));
    const identity304 = await send(url("7d"), { headers: { "if-none-match": header(plain, "etag") as string } });
    expect(identity304.status).toBe(304);
  });

  it("answers HEAD from the cache with GET's identity headers and no body", async () => {
    const get = await send(url("7d"));
    const head = await send(url("7d"), { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.body.byteLength).toBe(0);
    expect(header(head, "content-length")).toBe(String(get.body.byteLength));
    expect(header(head, "etag")).toBe(header(get, "etag"));
  });

  it("keeps windows apart", async () => {
    const seven = await send(url("7d"));
    const one = await send(url("1d"));
    expect(versionsIn(seven.body.toString())).not.toContain("1.1.0");
    expect(versionsIn(one.body.toString())).toContain("1.1.0");
  });

  it("still logs each answer it gives, without client data", async () => {
    await send(url("7d"));
    await send(url("7d"));
    expect(log.filter((line) => line.startsWith(`GET /7d${PATH} 200`))).toHaveLength(2);
  });
});

describe("FilteredResponseCache with a counting core", () => {
  it("serves a warm file without calling the core, and calls it again after the entry ends", async () => {
    const { createServer } = await import("node:http");
    const { getRequestListener } = await import("@hono/node-server");
    const { FilteredResponseCache, recordingFilteredResponses, withFilteredResponseCache } = await import(
      "../../src/server/filtered-response-cache.ts"
    );
    const memoClock = new FixedClock(NOW);
    let generation = 1;
    let coreCalls = 0;
    const core = async () => {
      coreCalls++;
      return new Response("line\n", {
        headers: { etag: '"abc"', "cache-control": "public, max-age=10", "x-cooldown": "window=7d" },
      });
    };
    const cache = new FilteredResponseCache(memoClock, () => generation, new CacheMemory(1_000_000));
    const listener = withFilteredResponseCache(
      getRequestListener(recordingFilteredResponses(core, cache)),
      cache,
      memoClock,
    );
    const http = createServer(listener).listen(0, "127.0.0.1");
    await new Promise((resolve) => http.once("listening", resolve));
    const base = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
    try {
      await send(`${base}/7d/a/b`);
      await send(`${base}/7d/a/b`);
      expect(coreCalls).toBe(1);
      memoClock.at = NOW + 10;
      await send(`${base}/7d/a/b`);
      expect(coreCalls).toBe(2);
      generation = 2;
      await send(`${base}/7d/a/b`);
      expect(coreCalls).toBe(3);
      await send(`${base}/7d/a/b`, { method: "HEAD" });
      expect(coreCalls).toBe(3);
    } finally {
      http.close();
    }
  });
});

describe("one memory bound for every cache", () => {
  const HEADERS = { etag: '"e"', "cache-control": "public, max-age=60", "x-cooldown": "window=7d" };
  /** A filtered answer's cost as documented: body, path, header names and values (2 bytes a character), allowance. */
  const costOf = (path: string, body: Uint8Array) =>
    ENTRY_OVERHEAD_BYTES + 2 * `${path}${Object.entries(HEADERS).flat().join("")}`.length + body.byteLength;
  /** Hex of random bytes: text that compresses to about half, so a coded copy weighs something. */
  const bodyOf = (size: number) => new TextEncoder().encode(`${randomBytes(size / 2).toString("hex")}\n`);

  it("counts a filtered answer's compressed copies as they are made, and releases everything it drops", () => {
    const memory = new CacheMemory(10_000_000);
    const cache = new FilteredResponseCache(new FixedClock(NOW), () => 1, memory);
    const body = bodyOf(20_000);
    cache.store("/7d/a/b", new Headers(HEADERS), body, 1);
    expect(memory.usedBytes).toBe(costOf("/7d/a/b", body));
    const entry = cache.fresh("/7d/a/b");
    const gzip = entry?.bodyFor("gzip") as Buffer;
    const br = entry?.bodyFor("br") as Buffer;
    expect(gzip.equals(compressSync("gzip", body))).toBe(true);
    entry?.bodyFor("gzip"); // made once, counted once
    const expected = costOf("/7d/a/b", body) + gzip.byteLength + br.byteLength;
    expect([cache.size, memory.usedBytes]).toEqual([expected, expected]);
    cache.store("/7d/a/b", new Headers(HEADERS), body, 1); // replaced: the old entry and its copies are released
    expect(memory.usedBytes).toBe(costOf("/7d/a/b", body));
  });

  it("keeps an answer and its copies as their own bytes, never as views into larger blocks", () => {
    const cache = new FilteredResponseCache(new FixedClock(NOW), () => 1, new CacheMemory(10_000_000));
    const block = new Uint8Array(65_536);
    block.set(bodyOf(4_000), 1_000);
    cache.store("/7d/a/b", new Headers(HEADERS), block.subarray(1_000, 5_001), 1);
    const entry = cache.fresh("/7d/a/b");
    expect(entry?.body.buffer.byteLength).toBe(4_001);
    expect(entry?.bodyFor("gzip").buffer.byteLength).toBe(entry?.bodyFor("gzip").byteLength);
  });

  it("evicts the least recently used entry of whichever cache, and never goes over the bound", async () => {
    const body = bodyOf(2_000);
    const cost = costOf("/7d/a/00", body);
    const memory = new CacheMemory(20 * cost + 100);
    const replay = new FilteredResponseCache(new FixedClock(NOW), () => 1, memory);
    const upstreamCache = new BoundedMemoryCacheStore(memory);
    const now = Date.now();
    const stream = upstreamCache.createWriteStream(
      { origin: "http://u", method: "GET", path: "/x" },
      {
        statusCode: 200,
        statusMessage: "OK",
        headers: {},
        cachedAt: now,
        staleAt: now + 60_000,
        deleteAt: now + 60_000,
      },
    );
    await new Promise((resolve) => stream?.once("close", resolve).end(Buffer.from(body)));
    expect(upstreamCache.entries).toBe(1);
    const path = (i: number) => `/7d/a/${String(i).padStart(2, "0")}`;
    for (let i = 0; i < 19; i++) replay.store(path(i), new Headers(HEADERS), body, 1);
    expect(upstreamCache.entries).toBe(1); // 20 entries fit
    replay.store(path(19), new Headers(HEADERS), body, 1);
    expect(upstreamCache.entries).toBe(0); // the upstream file was the least recently used
    expect(replay.fresh(path(0))).toBeDefined();
    replay.store(path(20), new Headers(HEADERS), body, 1);
    expect(replay.fresh(path(1))).toBeUndefined(); // path(0) was used since, so path(1) went
    expect(replay.fresh(path(0))).toBeDefined();
    expect(memory.usedBytes).toBe(replay.size);
    expect(memory.usedBytes).toBeLessThanOrEqual(memory.limitBytes);
    // A copy made once the bound is full pushes out the least recently used entry too.
    replay.fresh(path(0))?.bodyFor("gzip");
    expect(memory.usedBytes).toBeLessThanOrEqual(memory.limitBytes);
    expect(replay.fresh(path(2))).toBeUndefined();
  });
});
