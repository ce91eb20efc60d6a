import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
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
    const cache = new FilteredResponseCache(memoClock, () => generation);
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
