import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  type CooldownServerOptions,
  type RunningCooldownServer,
  startCooldownServer,
} from "../../src/server/start-server.ts";
import { TimestampDatabase } from "../../src/store/timestamp-database.ts";
import { FixtureUpstream } from "../support/fixture-upstream.ts";
import { header, send, testClient } from "./http-client.ts";
import { DAY, indexFile, nowSeconds, versionsIn } from "./index-lines.ts";

const CONFIG_JSON = '{\n  "dl": "https://static.crates.io/crates",\n  "api": "https://crates.io"\n}';

let upstream: FixtureUpstream;
let directory: string;
let dbPath: string;
let server: RunningCooldownServer | undefined;
let logLines: string[];

beforeEach(async () => {
  upstream = await FixtureUpstream.start();
  directory = mkdtempSync(join(tmpdir(), "cooldown-server-"));
  dbPath = join(directory, "timestamps.sqlite");
  logLines = [];
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  await upstream.close();
  rmSync(directory, { recursive: true, force: true });
});

afterAll(async () => {
  await testClient.close();
});

async function start(options: CooldownServerOptions = {}): Promise<RunningCooldownServer> {
  server = await startCooldownServer({
    listen: "127.0.0.1:0",
    upstream: upstream.url,
    dbPath,
    log: (line) => logLines.push(line),
    ...options,
  });
  return server;
}

/** A file large enough to be compressed for clients (over 1 KB), every version old enough for any window. */
function largeOldFile(name: string): string {
  const old = nowSeconds() - 60 * DAY;
  return indexFile(
    name,
    Array.from({ length: 40 }, (_, i) => ({ vers: `1.0.${i}`, publishedAt: old + i })),
  );
}

describe("listening", () => {
  it("listens on a free port when given port 0 and reports its URL", async () => {
    const running = await start();
    expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(running.address.port).toBeGreaterThan(0);
    upstream.set("/config.json", { body: CONFIG_JSON });
    expect((await send(`${running.url}7d/config.json`)).status).toBe(200);
  });

  it("creates the timestamp database when it does not exist yet, saying once which directory it created", async () => {
    dbPath = join(directory, "nested", "deeper", "new.sqlite");
    await (await start()).close();
    expect(logLines).toEqual([`created the database directory ${join(directory, "nested", "deeper")}`]);
    const database = new TimestampDatabase(dbPath, { readonly: true });
    expect(database.recordFor("serde")).toBeNull();
    database.close();
    await start();
    expect(logLines).toHaveLength(1);
  });
});

describe("routes", () => {
  it("passes config.json through byte-identical", async () => {
    upstream.set("/config.json", { body: CONFIG_JSON, headers: { "content-type": "application/json" } });
    const running = await start();
    const answer = await send(`${running.url}7d/config.json`, { headers: { "accept-encoding": "gzip" } });
    expect(answer.status).toBe(200);
    expect(answer.body.toString("utf8")).toBe(CONFIG_JSON);
  });

  it("hides a version published 2 days ago under /7d/ and shows it under /0d/", async () => {
    const now = nowSeconds();
    upstream.set("/se/rd/serde", {
      body: indexFile("serde", [
        { vers: "1.0.0", publishedAt: now - 30 * DAY },
        { vers: "1.0.1", publishedAt: now - 2 * DAY },
      ]),
    });
    const running = await start();
    const filtered = await send(`${running.url}7d/se/rd/serde`);
    expect(filtered.status).toBe(200);
    expect(versionsIn(filtered.body.toString())).toEqual(["1.0.0"]);
    expect(header(filtered, "x-cooldown")).toContain("too-young=1");
    const everything = await send(`${running.url}0d/se/rd/serde`);
    expect(versionsIn(everything.body.toString())).toEqual(["1.0.0", "1.0.1"]);
  });

  it("hides a version published 2 days ago under /3d/ but not under /1d/", async () => {
    upstream.set("/se/rd/serde", {
      body: indexFile("serde", [{ vers: "1.0.1", publishedAt: nowSeconds() - 2 * DAY }]),
    });
    const running = await start();
    expect(versionsIn((await send(`${running.url}3d/se/rd/serde`)).body.toString())).toEqual([]);
    expect(versionsIn((await send(`${running.url}1d/se/rd/serde`)).body.toString())).toEqual(["1.0.1"]);
  });

  it("hides lines without pubtime unless the database has their publish time", async () => {
    upstream.set("/an/yh/anyhow", { body: indexFile("anyhow", [{ vers: "1.0.0" }, { vers: "1.0.1" }]) });
    const seed = new TimestampDatabase(dbPath);
    seed.record([{ crate: "anyhow", version: "1.0.0", publishedAt: nowSeconds() - 30 * DAY }]);
    seed.close();
    const running = await start({ prePubtimeInference: "off" });
    const answer = await send(`${running.url}7d/an/yh/anyhow`);
    expect(versionsIn(answer.body.toString())).toEqual(["1.0.0"]);
    expect(header(answer, "x-cooldown")).toContain("unknown-age=1");
  });

  it("sees a publish time written by another connection on the next request, without a restart", async () => {
    upstream.set("/an/yh/anyhow", {
      body: indexFile("anyhow", [{ vers: "1.0.0" }]),
      headers: { "cache-control": "max-age=60" },
    });
    const running = await start({ prePubtimeInference: "off" });
    expect(versionsIn((await send(`${running.url}7d/an/yh/anyhow`)).body.toString())).toEqual([]);

    const ingest = new TimestampDatabase(dbPath);
    ingest.record([{ crate: "anyhow", version: "1.0.0", publishedAt: nowSeconds() - 30 * DAY }]);
    ingest.close();

    expect(versionsIn((await send(`${running.url}7d/an/yh/anyhow`)).body.toString())).toEqual(["1.0.0"]);
  });

  it("answers HEAD with the GET headers and no body", async () => {
    upstream.set("/se/rd/serde", { body: largeOldFile("serde") });
    const running = await start();
    const get = await send(`${running.url}7d/se/rd/serde`);
    const head = await send(`${running.url}7d/se/rd/serde`, { method: "HEAD", headers: { "accept-encoding": "gzip" } });
    expect(head.status).toBe(200);
    expect(head.body.byteLength).toBe(0);
    expect(header(head, "etag")).toBe(header(get, "etag"));
    expect(header(head, "content-length")).toBe(String(get.body.byteLength));
    expect(header(head, "content-encoding")).toBeUndefined();
  });

  it("answers an HTTP/1.0 request that has no Host header", async () => {
    upstream.set("/config.json", { body: CONFIG_JSON });
    const running = await start();
    const socket = connect(running.address.port, "127.0.0.1");
    socket.write("GET /7d/config.json HTTP/1.0\r\n\r\n");
    const chunks: Buffer[] = [];
    for await (const chunk of socket) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString();
    expect(raw).toMatch(/^HTTP\/1\.1 200 /);
    expect(raw.endsWith(CONFIG_JSON)).toBe(true);
  });

  it("answers 405 with Allow to methods other than GET and HEAD", async () => {
    const running = await start();
    const answer = await send(`${running.url}7d/se/rd/serde`, { method: "POST" });
    expect(answer.status).toBe(405);
    expect(header(answer, "allow")).toBe("GET, HEAD");
    expect(upstream.requests).toEqual([]);
  });

  it("answers 404 with a reason for a path cargo would never request", async () => {
    const running = await start();
    const answer = await send(`${running.url}7d/nope/serde`);
    expect(answer.status).toBe(404);
    expect(answer.body.toString()).toMatch(/cargo requests se\/rd\/serde/);
  });
});

describe("upstream", () => {
  it("passes the client's User-Agent to upstream as given", async () => {
    upstream.set("/se/rd/serde", { body: largeOldFile("serde") });
    upstream.set("/config.json", { body: CONFIG_JSON });
    const running = await start();
    await send(`${running.url}7d/se/rd/serde`, { headers: { "user-agent": "cargo/1.95.0 (abc 2026-01-01)" } });
    await send(`${running.url}7d/config.json`, { headers: { "user-agent": "cargo/1.95.0 (abc 2026-01-01)" } });
    expect(upstream.requests.map((request) => request.headers["user-agent"])).toEqual([
      "cargo/1.95.0 (abc 2026-01-01)",
      "cargo/1.95.0 (abc 2026-01-01)",
    ]);
  });

  it("sends no User-Agent upstream when the client sent none", async () => {
    upstream.set("/se/rd/serde", { body: largeOldFile("serde") });
    const running = await start();
    await send(`${running.url}7d/se/rd/serde`);
    expect(upstream.requests[0]?.headers["user-agent"]).toBeUndefined();
  });

  it("serves a fresh upstream file from its cache without asking upstream again", async () => {
    upstream.set("/se/rd/serde", { body: largeOldFile("serde"), headers: { "cache-control": "public, max-age=60" } });
    const running = await start();
    const first = await send(`${running.url}7d/se/rd/serde`);
    const second = await send(`${running.url}3d/se/rd/serde`);
    expect(second.body.equals(first.body)).toBe(true);
    expect(upstream.requestsFor("/se/rd/serde")).toHaveLength(1);
  });

  it("revalidates a stale upstream file with a conditional request and reuses its copy on 304", async () => {
    const body = largeOldFile("serde");
    upstream.set("/se/rd/serde", { body, headers: { "cache-control": "public, max-age=2" } });
    const running = await start();
    await send(`${running.url}7d/se/rd/serde`);
    await sleep(2_500);
    const answer = await send(`${running.url}7d/se/rd/serde`);
    expect(answer.body.toString()).toBe(body);
    const seen = upstream.requestsFor("/se/rd/serde");
    expect(seen.map((request) => request.status)).toEqual([200, 304]);
    expect(seen[1]?.headers["if-none-match"]).toMatch(/^"[0-9a-f]+"$/);
  });

  it("asks upstream for gzip and decodes it before filtering", async () => {
    const now = nowSeconds();
    upstream.set("/se/rd/serde", {
      body: indexFile("serde", [
        { vers: "1.0.0", publishedAt: now - 30 * DAY },
        { vers: "1.0.1", publishedAt: now - 2 * DAY },
      ]),
      gzip: true,
    });
    const running = await start();
    const answer = await send(`${running.url}7d/se/rd/serde`);
    expect(upstream.requests[0]?.headers["accept-encoding"]).toBe("gzip");
    expect(answer.status).toBe(200);
    expect(versionsIn(answer.body.toString())).toEqual(["1.0.0"]);
  });

  it("decodes a gzip pass-through body, so /0d/ clients get bytes they asked for", async () => {
    const body = largeOldFile("serde");
    upstream.set("/se/rd/serde", { body, gzip: true });
    const running = await start();
    const answer = await send(`${running.url}0d/se/rd/serde`);
    expect(header(answer, "content-encoding")).toBeUndefined();
    expect(answer.body.toString()).toBe(body);
  });

  it("answers 502 when upstream uses a content coding it cannot decode", async () => {
    upstream.set("/se/rd/serde", { body: "\u0000\u0001", forcedEncoding: "x-unknown" });
    const running = await start();
    const answer = await send(`${running.url}7d/se/rd/serde`);
    expect(answer.status).toBe(502);
    expect(answer.body.toString()).toContain("x-unknown");
  });

  it("answers 503 with Retry-After when upstream cannot be reached", async () => {
    const unreachable = upstream.url;
    await upstream.close();
    upstream = await FixtureUpstream.start();
    const running = await start({ upstream: unreachable });
    const answer = await send(`${running.url}7d/se/rd/serde`);
    expect(answer.status).toBe(503);
    expect(header(answer, "retry-after")).toBe("5");
  });

  it("answers a pass-through If-None-Match from its cache with 304", async () => {
    upstream.set("/config.json", { body: CONFIG_JSON, headers: { "cache-control": "max-age=60" } });
    const running = await start();
    const first = await send(`${running.url}7d/config.json`);
    const again = await send(`${running.url}7d/config.json`, {
      headers: { "if-none-match": header(first, "etag") ?? "" },
    });
    expect(again.status).toBe(304);
    expect(header(again, "etag")).toBe(header(first, "etag"));
    expect(upstream.requestsFor("/config.json")).toHaveLength(1);
  });
});

describe("status", () => {
  it("reports the Node home and this build's version on /-/status", async () => {
    const running = await start();
    const status = JSON.parse((await send(`${running.url}-/status`)).body.toString()) as {
      home: string;
      version: string;
    };
    expect(status.home).toBe("node");
    expect(status.version).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe("compression to clients", () => {
  it("gzips a large body for a client that accepts gzip, with its own strong ETag", async () => {
    const body = largeOldFile("serde");
    upstream.set("/se/rd/serde", { body });
    const running = await start();
    const plain = await send(`${running.url}7d/se/rd/serde`);
    const gzipped = await send(`${running.url}7d/se/rd/serde`, { headers: { "accept-encoding": "gzip" } });
    expect(header(gzipped, "content-encoding")).toBe("gzip");
    expect(header(gzipped, "vary")).toMatch(/accept-encoding/i);
    expect(header(plain, "vary")).toMatch(/accept-encoding/i);
    expect(gunzipSync(gzipped.body).toString()).toBe(body);
    expect(header(gzipped, "content-length")).toBe(String(gzipped.body.byteLength));
    const identityTag = header(plain, "etag") ?? "";
    expect(identityTag).toMatch(/^"[0-9a-f]+"$/);
    expect(header(gzipped, "etag")).toBe(`${identityTag.slice(0, -1)}-gzip"`);
  });

  it("answers If-None-Match with 304 for the gzip tag and for the identity tag", async () => {
    upstream.set("/se/rd/serde", { body: largeOldFile("serde") });
    const running = await start();
    const url = `${running.url}7d/se/rd/serde`;
    const plain = await send(url);
    const gzipped = await send(url, { headers: { "accept-encoding": "gzip" } });

    const gzipAgain = await send(url, {
      headers: { "accept-encoding": "gzip", "if-none-match": header(gzipped, "etag") ?? "" },
    });
    expect(gzipAgain.status).toBe(304);
    expect(gzipAgain.body.byteLength).toBe(0);
    expect(header(gzipAgain, "etag")).toBe(header(gzipped, "etag"));
    expect(header(gzipAgain, "content-encoding")).toBeUndefined();

    const plainAgain = await send(url, { headers: { "if-none-match": header(plain, "etag") ?? "" } });
    expect(plainAgain.status).toBe(304);
    expect(header(plainAgain, "etag")).toBe(header(plain, "etag"));
  });

  it("answers 304 from its cache to a /0d/ client holding the gzip tag of a pass-through file", async () => {
    upstream.set("/se/rd/serde", { body: largeOldFile("serde"), headers: { "cache-control": "max-age=60" } });
    const running = await start();
    const url = `${running.url}0d/se/rd/serde`;
    const gzipped = await send(url, { headers: { "accept-encoding": "gzip" } });
    expect(header(gzipped, "content-encoding")).toBe("gzip");
    expect(header(gzipped, "etag")).toMatch(/-gzip"$/);
    const again = await send(url, {
      headers: { "accept-encoding": "gzip", "if-none-match": header(gzipped, "etag") ?? "" },
    });
    expect(again.status).toBe(304);
    expect(header(again, "etag")).toBe(header(gzipped, "etag"));
    expect(upstream.requestsFor("/se/rd/serde")).toHaveLength(1);
  });

  it("sends a full body when the client's tag is from an older version of the file", async () => {
    upstream.set("/se/rd/serde", { body: largeOldFile("serde") });
    const running = await start();
    const answer = await send(`${running.url}7d/se/rd/serde`, {
      headers: { "accept-encoding": "gzip", "if-none-match": '"00000000000000000000000000000000-gzip"' },
    });
    expect(answer.status).toBe(200);
    expect(header(answer, "content-encoding")).toBe("gzip");
  });

  it("uses brotli when the client prefers it", async () => {
    const body = largeOldFile("serde");
    upstream.set("/se/rd/serde", { body });
    const running = await start();
    const answer = await send(`${running.url}7d/se/rd/serde`, { headers: { "accept-encoding": "gzip;q=0.5, br" } });
    expect(header(answer, "content-encoding")).toBe("br");
    expect(header(answer, "etag")).toMatch(/-br"$/);
    expect(brotliDecompressSync(answer.body).toString()).toBe(body);
  });

  it("does not compress bodies under 1 KB", async () => {
    upstream.set("/se/rd/serde", {
      body: indexFile("serde", [{ vers: "1.0.0", publishedAt: nowSeconds() - 30 * DAY }]),
    });
    const running = await start();
    const answer = await send(`${running.url}7d/se/rd/serde`, { headers: { "accept-encoding": "gzip" } });
    expect(answer.status).toBe(200);
    expect(header(answer, "content-encoding")).toBeUndefined();
    expect(header(answer, "etag")).toMatch(/^"[0-9a-f]+"$/);
  });

  it("passes a body it could not decode through without compressing it again", async () => {
    upstream.set("/config.json", { body: "opaque", forcedEncoding: "x-unknown" });
    const running = await start();
    const answer = await send(`${running.url}0d/config.json`, { headers: { "accept-encoding": "gzip" } });
    expect(header(answer, "content-encoding")).toBe("x-unknown");
    expect(answer.body.toString()).toBe("opaque");
  });
});

describe("access log", () => {
  it("logs method, path, status and time, never the client's address or User-Agent", async () => {
    upstream.set("/se/rd/serde", { body: largeOldFile("serde") });
    const running = await start();
    await send(`${running.url}7d/se/rd/serde?secret=1`, { headers: { "user-agent": "cargo/1.95.0 (private-agent)" } });
    // The line is written when the server side of the exchange closes, which may trail the client's read.
    await vi.waitFor(() => expect(logLines).toHaveLength(1));
    expect(logLines[0]).toMatch(/^GET \/7d\/se\/rd\/serde 200 \d+\.\dms$/);
    expect(logLines.join("\n")).not.toMatch(/127\.0\.0\.1|private-agent|secret/);
  });

  it("logs the path alone of an absolute-form target: never its scheme, userinfo, host, query or fragment", async () => {
    const running = await start();
    const socket = connect(running.address.port, "127.0.0.1");
    socket.write(
      "GET http://user:secret@h.example:99/7d/3/l/log?token=t0k3n HTTP/1.1\r\nHost: h.example:99\r\nConnection: close\r\n\r\n",
    );
    for await (const _ of socket); // read to the end: the server closes after answering
    await vi.waitFor(() => expect(logLines).toHaveLength(1));
    expect(logLines[0]).toMatch(/^GET \/7d\/3\/l\/log \d{3} \d+\.\dms$/);
    expect(logLines[0]).not.toMatch(/user|secret|h\.example|:99|token|t0k3n|http:/);
  });

  it("logs nothing when quiet", async () => {
    upstream.set("/se/rd/serde", { body: largeOldFile("serde") });
    const running = await start({ quiet: true });
    await send(`${running.url}7d/se/rd/serde`);
    await running.close();
    expect(logLines).toEqual([]);
  });
});

describe("shutdown", () => {
  it("stops accepting connections and closes the database on close()", async () => {
    const running = await start();
    await running.close();
    await expect(send(`${running.url}7d/config.json`)).rejects.toThrow();
    // The file is free: another writer can take it at once.
    const database = new TimestampDatabase(dbPath);
    database.close();
  });
});
