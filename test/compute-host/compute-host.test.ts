/**
 * The host against a probe guest built with js-compute-runtime (guests/probe.js): each route drives one part of the
 * host through the runtime's own builtins, so hostcalls are called exactly as js-compute calls them.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BuiltGuest, buildGuest } from "./build-guest.ts";
import {
  type ComputeHostOptions,
  type RequestTiming,
  type RunningComputeHost,
  startComputeHost,
} from "./compute-host.ts";
import { type LoopbackOrigin, startLoopbackOrigin } from "./loopback-origin.ts";

const DAY_MS = 86_400_000;
let guest: BuiltGuest;
let origin: LoopbackOrigin;
const logs: string[] = [];
const timings: RequestTiming[] = [];
let clockOffsetMs = 0;
const hosts: RunningComputeHost[] = [];

async function start(
  httpCache: ComputeHostOptions["httpCache"],
  extra: Partial<ComputeHostOptions> = {},
): Promise<RunningComputeHost> {
  const host = await startComputeHost({
    wasmPath: guest.wasmPath,
    listen: "127.0.0.1:0",
    backends: {
      origin: { url: origin.url, overrideHost: "origin.example", firstByteTimeoutMs: 1000 },
      refused: { url: "http://127.0.0.1:1" },
    },
    kvStores: { probe_kv: { a: "A", m: { data: "D", metadata: "M" } } },
    configStores: { probe_config: { short: "s", long: "x".repeat(3000) } },
    httpCache,
    clock: () => Date.now() + clockOffsetMs,
    log: (line) => logs.push(line),
    onTiming: (timing) => timings.push(timing),
    ...extra,
  });
  hosts.push(host);
  return host;
}

async function get(
  host: RunningComputeHost,
  path: string,
  init?: RequestInit,
): Promise<{ status: number; text: string; headers: Headers }> {
  const response = await fetch(host.url + path, init);
  return { status: response.status, text: await response.text(), headers: response.headers };
}

beforeAll(async () => {
  guest = await buildGuest("test/compute-host/guests/probe.js");
  let slowCount = 0;
  origin = await startLoopbackOrigin({
    "/plain": (_req, res) =>
      res.writeHead(200, { "content-type": "text/plain", "cache-control": "max-age=60" }).end("plain body"),
    "/short-lived": (_req, res) =>
      res.writeHead(200, { "cache-control": "max-age=3600" }).end(`short-lived ${Date.now()}`),
    "/no-store": (_req, res) => res.writeHead(200, { "cache-control": "no-store" }).end("not for caches"),
    "/gzip": (_req, res) => {
      const body = gzipSync("inflated body");
      res.writeHead(200, { "content-encoding": "gzip", "content-length": body.length }).end(body);
    },
    "/bad-gzip": (_req, res) =>
      res.writeHead(200, { "content-encoding": "gzip", "content-length": 9 }).end("not gzip!"),
    "/truncated": (_req, res) => {
      res.writeHead(200, { "content-length": 1000 });
      res.write("the first bytes");
      setTimeout(() => res.socket?.destroy(), 20);
    },
    "/slow-headers": (_req, res) => {
      setTimeout(() => res.writeHead(200).end("too late"), 3000).unref();
    },
    "/compute": (req, res) => {
      // The computation a Core Cache entry saves; counted per key by origin.hits ("/compute?key=…").
      const count = origin.hits.get(req.url ?? "") ?? 0;
      setTimeout(
        () =>
          res
            .writeHead(200, { "content-type": "text/plain", "cache-control": "no-store" })
            .end(`computed ${new URL(req.url ?? "", "http://x").searchParams.get("key")} #${count}`),
        150,
      );
    },
    "/slow-cacheable": (_req, res) => {
      slowCount += 1;
      setTimeout(() => res.writeHead(200, { "cache-control": "max-age=60" }).end(`slow ${slowCount}`), 200);
    },
  });
  // Hosts and the origin stop by themselves even if afterAll never runs.
  setTimeout(() => void Promise.all(hosts.map((host) => host.close())), 110_000).unref();
});

afterAll(async () => {
  await Promise.all(hosts.map((host) => host.close()));
  await origin?.close();
  await guest?.remove();
});

describe("running the guest", () => {
  let host: RunningComputeHost;
  beforeAll(async () => {
    host = await start("unsupported");
  });

  it("writes what the guest logs at request time (stdout and stderr: wasi-libc asks fd_fdstat_get first)", async () => {
    const response = await fetch(`${host.url}console`);
    expect(await response.text()).toBe("logged");
    expect(logs).toContain("probe says hello");
    expect(logs).toContain("probe says oops");
  });

  it("gives every request a fresh instance: a global counter never passes 1", async () => {
    expect((await get(host, "counter")).text).toBe("1");
    expect((await get(host, "counter")).text).toBe("1");
  });

  it("hands the guest the absolute URL, method and body, also a URL of 7000 characters", async () => {
    const long = `url?${"q".repeat(7000)}`;
    const url = `${host.url}${long}`;
    expect((await get(host, long)).text).toBe(`GET ${url.length} ${url.slice(0, 40)}`);
    expect((await get(host, "echo-body", { method: "POST", body: "b".repeat(5000) })).text).toBe("POST 5000");
  });

  it("reads many and long request headers (names and values lists)", async () => {
    const headers: Record<string, string> = {};
    for (let i = 0; i < 40; i++) headers[`x-long-${i}`] = "h".repeat(300);
    const { text } = await get(host, "request-headers", { headers });
    const [count, total] = text.split(" ").map(Number);
    expect(count).toBeGreaterThanOrEqual(40);
    expect(total).toBeGreaterThanOrEqual(40 * 300);
  });

  it("sends many response headers downstream, and no body for HEAD", async () => {
    const { headers } = await get(host, "response-headers?n=60&len=200");
    expect(headers.get("x-probe-59")).toBe("v".repeat(200));
    const head = await fetch(`${host.url}counter`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
  });

  it("streams a streamed response body", async () => {
    expect((await get(host, "stream")).text).toBe("part0;part1;part2;");
  });

  it("reads the KV store: value, metadata, missing key, missing store, and changes made while running", async () => {
    expect((await get(host, "kv?key=a")).text).toBe("A|");
    expect((await get(host, "kv?key=m")).text).toBe("D|M");
    expect(await get(host, "kv?key=zz")).toMatchObject({ status: 404, text: "missing" });
    expect((await get(host, "kv?key=a&store=nope")).text).toContain("No KVStore named 'nope' exists");
    host.setKvEntry("probe_kv", "zz", "new");
    expect((await get(host, "kv?key=zz")).text).toBe("new|");
    host.deleteKvEntry("probe_kv", "zz");
    expect((await get(host, "kv?key=zz")).status).toBe(404);
    host.replaceKvStore("probe_kv", { only: "1" });
    expect((await get(host, "kv?key=a")).status).toBe(404);
  });

  it("reads the Config Store: a value longer than the runtime's first buffer (BUFLEN retry), a missing key, a missing store", async () => {
    expect((await get(host, "config?key=short")).text).toBe("1:s");
    expect((await get(host, "config?key=long")).text).toBe(`3000:${"x".repeat(20)}`);
    expect((await get(host, "config?key=none")).text).toBe("null");
    expect((await get(host, "config?key=a&store=nope")).text).toContain("No ConfigStore named 'nope' exists");
    host.setConfigEntry("probe_config", "none", "set now");
    expect((await get(host, "config?key=none")).text).toBe("7:set now");
  });

  it("shows the guest the host's clock, and runs timers", async () => {
    clockOffsetMs = 3 * DAY_MS;
    const seen = Number((await get(host, "clock")).text);
    clockOffsetMs = 0;
    expect(Math.abs(seen - (Date.now() + 3 * DAY_MS))).toBeLessThan(60_000);
    expect(Number((await get(host, "sleep?ms=30")).text)).toBeGreaterThanOrEqual(29);
  });

  it("fails loudly, naming the hostcall, when the guest calls one this host lacks (the Secret Store)", async () => {
    const logged = logs.length;
    const { status, text } = await get(host, "secret");
    expect(status).toBe(500);
    expect(text).toMatch(/^compute-host: fastly_secret_store\.\w+ is not implemented\n$/);
    await host.settled();
    // Once: the request's failure, not also as a failure between requests.
    expect(logs.slice(logged).filter((line) => /fastly_secret_store\.\w+ is not implemented/.test(line))).toHaveLength(
      1,
    );
  });

  it("reports timings per request", async () => {
    timings.length = 0;
    await get(host, "counter");
    // The response goes out when the guest sends it; the timing follows when its instance ends.
    while (timings.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const timing = timings[0]!;
    expect(timing.path).toBe("/counter");
    expect(timing.instantiateMs).toBeGreaterThan(0);
    expect(timing.startWallMs).toBeGreaterThan(0);
    expect(timing.hostWaitMs).toBeGreaterThanOrEqual(0);
    expect(timing.startCpuMs === null || timing.startCpuMs > 0).toBe(true);
  });
});

describe("named log endpoints (fastly_log, through fastly:logger)", () => {
  let host: RunningComputeHost;
  let folder: string;
  let file: string;
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), "compute-host-log-"));
    file = join(folder, "probe.log");
    host = await start("unsupported", { logEndpoints: { probe_log: file } });
  });
  afterAll(async () => {
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  const log = (query: Record<string, string | string[]>) => {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query))
      for (const item of Array.isArray(value) ? value : [value]) params.append(name, item);
    return get(host, `log?${params}`);
  };

  it("appends each write to the endpoint's file as one line: a trailing newline dropped, inner ones escaped, empty ones skipped", async () => {
    const before = await readFile(file, "utf8");
    const { status, text } = await log({
      endpoint: "probe_log",
      msg: ["first", "two\nlines", "ends\n", "", "\n", "héllo ✓"],
    });
    expect({ status, text }).toEqual({ status: 200, text: "logged" });
    const written = (await readFile(file, "utf8")).slice(before.length);
    expect(written).toBe(["first", String.raw`two\nlines`, "ends", "héllo ✓", ""].join("\n"));
  });

  it("gives two Loggers of one name the same endpoint, in the order they wrote", async () => {
    const before = await readFile(file, "utf8");
    await log({ endpoint: "probe_log", msg: ["a", "b"], twice: "1" });
    expect((await readFile(file, "utf8")).slice(before.length)).toBe("a\nb\na\nb\n");
  });

  it("takes entries for an endpoint it was not given, as Viceroy, and writes them to its log as NAME :: entry", async () => {
    logs.length = 0;
    expect((await log({ endpoint: "elsewhere", msg: "to the log" })).text).toBe("logged");
    expect(logs).toContain("elsewhere :: to the log");
  });

  it.each(["stdout", "STDERR", "fst_managed_x"])(
    "refuses the reserved endpoint name %s (INVAL): log() throws",
    async (name) => {
      const { status, text } = await log({ endpoint: name, msg: "no" });
      expect(status).toBe(500);
      expect(text).toMatch(/^\w*Error: /);
      expect(logs.some((line) => line.includes(" :: no"))).toBe(false);
    },
  );

  it("fails to start when an endpoint's file cannot be opened", async () => {
    await expect(start("unsupported", { logEndpoints: { x: join(folder, "missing", "x.log") } })).rejects.toThrow(
      /ENOENT/,
    );
  });
});

describe("backends", () => {
  let host: RunningComputeHost;
  beforeAll(async () => {
    host = await start("unsupported");
  });

  it("sends to the backend's origin with the override host", async () => {
    expect(await get(host, "fetch?path=/plain")).toMatchObject({ status: 200, text: "plain body" });
    expect(origin.hosts.get("/plain")).toBe("origin.example");
  });

  it("rejects the fetch with the cause when the connection is refused", async () => {
    expect(await get(host, "fetch?backend=refused")).toMatchObject({
      status: 502,
      text: "fetch failed: NetworkError: Connection refused",
    });
  });

  it("rejects the fetch when the first byte does not come in time", async () => {
    expect(await get(host, "fetch?path=/slow-headers")).toMatchObject({
      status: 502,
      text: "fetch failed: NetworkError: HTTP response timeout",
    });
  });

  it("fails the body read of a truncated body (HTTP incomplete), never a short body", async () => {
    const { status, text } = await get(host, "fetch?path=/truncated");
    expect(status).toBe(502);
    expect(text).toMatch(/^body failed: .*incomplete/i);
  });

  it("gunzips when asked (decompressGzip), and a corrupt gzip body fails the read", async () => {
    expect(await get(host, "fetch?path=/gzip&decompress=1")).toMatchObject({ status: 200, text: "inflated body" });
    expect((await get(host, "fetch?path=/gzip&decompress=1")).headers.get("x-upstream-encoding")).toBe("");
    const bad = await get(host, "fetch?path=/bad-gzip&decompress=1");
    expect(bad.status).toBe(502);
    expect(bad.text).toMatch(/^body failed: /);
  });
});

describe('httpCache "unsupported" (as Viceroy)', () => {
  let host: RunningComputeHost;
  beforeAll(async () => {
    host = await start("unsupported");
  });

  it("makes js-compute refuse a fetch with an afterSend hook, as on a service without the HTTP Cache API", async () => {
    expect(await get(host, "fetch?path=/plain&hook=1")).toMatchObject({
      status: 502,
      text: "fetch failed: Error: HTTP caching API is not enabled; please contact support for help",
    });
  });

  it("sends every fetch without hooks to the backend (Viceroy has no cache), CacheOverride or not", async () => {
    const before = origin.hits.get("/plain") ?? 0;
    await get(host, "fetch?path=/plain&ttl=60");
    await get(host, "fetch?path=/plain&ttl=60");
    expect(origin.hits.get("/plain")).toBe(before + 2);
  });
});

describe('httpCache "memory"', () => {
  let host: RunningComputeHost;
  beforeAll(async () => {
    host = await start("memory");
  });

  it("caches a fetch with an afterSend hook: a miss, then hits without the backend", async () => {
    host.clearHttpCache();
    const before = origin.hits.get("/plain") ?? 0;
    expect((await get(host, "fetch?path=/plain&hook=1")).headers.get("x-upstream-cache")).toBe("MISS");
    const second = await get(host, "fetch?path=/plain&hook=1");
    expect(second).toMatchObject({ status: 200, text: "plain body" });
    expect(second.headers.get("x-upstream-cache")).toBe("HIT");
    expect(origin.hits.get("/plain")).toBe(before + 1);
  });

  it("does not store what afterSend refuses ({cache: false}) or what says no-store", async () => {
    host.clearHttpCache();
    const before = origin.hits.get("/short-lived") ?? 0;
    await get(host, "fetch?path=/short-lived&hook=1&store=0");
    await get(host, "fetch?path=/short-lived&hook=1&store=0");
    expect(origin.hits.get("/short-lived")).toBe(before + 2);
    await get(host, "fetch?path=/no-store&hook=1");
    await get(host, "fetch?path=/no-store&hook=1");
    expect(origin.hits.get("/no-store")).toBe(2);
  });

  it("keeps a response as long as the hook's TTL says, by the host's clock", async () => {
    host.clearHttpCache();
    const first = (await get(host, "fetch?path=/short-lived&hook=1&ttl=120")).text;
    expect((await get(host, "fetch?path=/short-lived&hook=1&ttl=120")).text).toBe(first);
    clockOffsetMs = 121_000;
    try {
      expect((await get(host, "fetch?path=/short-lived&hook=1&ttl=120")).text).not.toBe(first);
    } finally {
      clockOffsetMs = 0;
    }
  });

  it("collapses concurrent misses into one backend request", async () => {
    host.clearHttpCache();
    const answers = await Promise.all([
      get(host, "fetch?path=/slow-cacheable&hook=1"),
      get(host, "fetch?path=/slow-cacheable&hook=1"),
    ]);
    expect(answers.map((answer) => answer.text)).toEqual(["slow 1", "slow 1"]);
    expect(origin.hits.get("/slow-cacheable")).toBe(1);
  });

  it("caches host-cached fetches (CacheOverride ttl, no hooks) and not pass ones", async () => {
    host.clearHttpCache();
    const before = origin.hits.get("/plain") ?? 0;
    await get(host, "fetch?path=/plain&pass=1");
    await get(host, "fetch?path=/plain&pass=1");
    expect(origin.hits.get("/plain")).toBe(before + 2);
    await get(host, "fetch?path=/plain&ttl=60");
    await get(host, "fetch?path=/plain&ttl=60");
    expect(origin.hits.get("/plain")).toBe(before + 3);
  });
});

type CoreAnswer = {
  outcome?: string;
  found: boolean;
  usable: boolean;
  stale: boolean;
  mustInsertOrUpdate: boolean;
  body: string | null;
  meta: string | null;
  length: number | null;
  maxAge: number | null;
  age: number | null;
  staleWhileRevalidate: number | null;
  hits: number | null;
  before?: CoreAnswer | null;
  value?: string;
  streamedBack?: string;
};

// The Core Cache is independent of the HTTP cache mode (Viceroy has it without the HTTP Cache API).
describe.each(["unsupported", "memory"] as const)('Core Cache (fastly:cache), httpCache "%s"', (mode) => {
  let host: RunningComputeHost;
  let keyCount = 0;
  /** A key no other test (or mode) has used: the origin counts computations per key. */
  const freshKey = (name: string) => `${mode}-${name}-${++keyCount}`;
  const computations = (key: string) => origin.hits.get(`/compute?key=${encodeURIComponent(key)}`) ?? 0;
  const core = async (path: string): Promise<CoreAnswer> => {
    const answer = await get(host, path);
    if (answer.status !== 200) throw new Error(`${path}: ${answer.status} ${answer.text}`);
    return JSON.parse(answer.text) as CoreAnswer;
  };
  const atOffset = async <T>(offsetMs: number, run: () => Promise<T>): Promise<T> => {
    clockOffsetMs = offsetMs;
    try {
      return await run();
    } finally {
      clockOffsetMs = 0;
    }
  };

  beforeAll(async () => {
    host = await start(mode, { workers: 3 });
  });

  it("inserts and looks up: body, user metadata, length, max age, initial age, and hits counted per lookup", async () => {
    const key = freshKey("insert");
    expect((await get(host, `core/lookup?key=${key}`)).status).toBe(404);
    expect(
      (await get(host, `core/insert?key=${key}&value=hello&maxAge=60000&initialAge=5000&meta=m1&length=1`)).text,
    ).toBe("inserted");
    const first = await core(`core/lookup?key=${key}`);
    expect(first).toMatchObject({
      found: true,
      usable: true,
      stale: false,
      mustInsertOrUpdate: false,
      body: "hello",
      meta: "m1",
      length: 5,
      maxAge: 60000,
      hits: 1,
    });
    expect(first.age).toBeGreaterThanOrEqual(5000);
    expect((await core(`core/lookup?key=${key}`)).hits).toBe(2);
    expect((await core(`core/lookup?key=${key}&start=1&end=3`)).body).toBe("ell");
  });

  it("expires at max age by the host's clock; stale-while-revalidate keeps it usable, stale, with one obligation to update", async () => {
    const key = freshKey("ttl");
    await get(host, `core/insert?key=${key}&value=v1&maxAge=60000`);
    expect((await get(host, `core/lookup?key=${key}`, {})).status).toBe(200);
    expect((await atOffset(61_000, () => get(host, `core/lookup?key=${key}`))).status).toBe(404);

    const swrKey = freshKey("swr");
    await get(host, `core/insert?key=${swrKey}&value=v1&maxAge=60000&swr=60000`);
    const stale = await atOffset(90_000, () => core(`core/txn?key=${swrKey}&action=update&maxAge=600000&meta=updated`));
    expect(stale.outcome).toBe("updated");
    expect(stale.before).toMatchObject({
      found: true,
      usable: true,
      stale: true,
      mustInsertOrUpdate: true,
      body: "v1",
      staleWhileRevalidate: 60000,
    });
    const updated = await atOffset(90_000, () => core(`core/lookup?key=${swrKey}`));
    expect(updated).toMatchObject({ found: true, stale: false, body: "v1", meta: "updated", maxAge: 600000 });
    expect(updated.age).toBeLessThan(10_000);
    expect(computations(swrKey)).toBe(0);
  });

  it("transactions: a miss computes and inserts once, later lookups find it; cancel and an instance that ends give the obligation back", async () => {
    const key = freshKey("txn");
    const first = await core(`core/txn?key=${key}`);
    expect(first).toMatchObject({ outcome: "inserted", value: `computed ${key} #1` });
    expect(await core(`core/txn?key=${key}`)).toMatchObject({
      outcome: "found",
      body: `computed ${key} #1`,
      mustInsertOrUpdate: false,
    });
    expect(computations(key)).toBe(1);

    const cancelled = freshKey("cancel");
    expect((await core(`core/txn?key=${cancelled}&action=cancel`)).outcome).toBe("cancelled");
    expect((await core(`core/txn?key=${cancelled}&action=leave`)).outcome).toBe("left");
    expect((await core(`core/txn?key=${cancelled}&action=close`)).outcome).toBe("closed");
    expect(await core(`core/txn?key=${cancelled}`)).toMatchObject({ outcome: "inserted" });
    expect(computations(cancelled)).toBe(1);
  });

  it("collapses concurrent transactions for one key into one computation (transactionLookup and transactionLookupAsync)", async () => {
    const key = freshKey("collapse");
    const answers = await Promise.all([
      core(`core/txn?key=${key}`),
      core(`core/txn?key=${key}`),
      core(`core/async?key=${key}`),
    ]);
    expect(computations(key)).toBe(1);
    const value = `computed ${key} #1`;
    expect(answers.filter((answer) => answer.outcome === "inserted")).toHaveLength(1);
    for (const answer of answers) expect(answer.outcome === "inserted" ? answer.value : answer.body).toBe(value);
  });

  it("a waiter takes over when the transaction it waits on is cancelled", async () => {
    const key = freshKey("handover");
    // The first computes slowly and then cancels; the second waits, then gets the obligation and inserts.
    const [cancelled, inserted] = await Promise.all([
      core(`core/txn?key=${key}&action=cancel`),
      new Promise((resolve) => setTimeout(resolve, 50)).then(() => core(`core/txn?key=${key}`)),
    ]);
    expect(cancelled.outcome).toBe("cancelled");
    expect(inserted).toMatchObject({ outcome: "inserted" });
  });

  it("insertAndStreamBack streams the inserted body back", async () => {
    const key = freshKey("stream");
    expect(await core(`core/txn?key=${key}&action=stream`)).toMatchObject({
      outcome: "inserted",
      streamedBack: `computed ${key} #1`,
    });
    expect((await core(`core/lookup?key=${key}`)).body).toBe(`computed ${key} #1`);
  });

  it("an insertion body the instance never closes is in the cache at once and ends in error for its readers (Viceroy)", async () => {
    const key = freshKey("open");
    await get(host, `core/insert?key=${key}&value=partial&open=1`);
    const answer = await core(`core/lookup?key=${key}`);
    expect(answer.found).toBe(true);
    expect(answer.body).toMatch(/^body failed: /);
  });

  it("purges by surrogate key (host API), hard and soft", async () => {
    const key = freshKey("purge");
    await get(host, `core/insert?key=${key}&value=v&sk=crate-serde,all`);
    expect(host.purgeSurrogateKey("crate-syn")).toBe(0);
    expect((await get(host, `core/lookup?key=${key}`)).status).toBe(200);
    expect(host.purgeSurrogateKey("crate-serde", { soft: true })).toBe(1);
    expect(await core(`core/lookup?key=${key}`)).toMatchObject({ found: true, stale: true });
    expect(await core(`core/txn?key=${key}&action=cancel`)).toMatchObject({
      outcome: "cancelled",
      before: { stale: true, body: "v" },
    });
    expect(host.purgeSurrogateKey("all")).toBe(1);
    expect((await get(host, `core/lookup?key=${key}`)).status).toBe(404);
    await get(host, `core/insert?key=${key}&value=v`);
    host.clearCoreCache();
    expect((await get(host, `core/lookup?key=${key}`)).status).toBe(404);
  });

  it("SimpleCache: getOrSet computes once, get reads, purge removes (fastly_purge)", async () => {
    const key = freshKey("simple");
    expect(await get(host, `simple/get?key=${key}`)).toMatchObject({ status: 404 });
    expect((await get(host, `simple/get-or-set?key=${key}`)).text).toBe(`computed ${key} #1`);
    expect((await get(host, `simple/get-or-set?key=${key}`)).text).toBe(`computed ${key} #1`);
    expect((await get(host, `simple/get?key=${key}`)).text).toBe(`computed ${key} #1`);
    expect(computations(key)).toBe(1);
    expect((await get(host, `simple/purge?key=${key}`)).text).toBe("purged");
    expect(await get(host, `simple/get?key=${key}`)).toMatchObject({ status: 404 });
    expect((await get(host, `simple/get-or-set?key=${key}`)).text).toBe(`computed ${key} #2`);
  });

  it("SimpleCache: get reads an entry CoreCache inserted under the same key (the answer cache reads hits so)", async () => {
    const key = freshKey("core-then-simple");
    expect(await get(host, `simple/get?key=${key}`)).toMatchObject({ status: 404 });
    await get(host, `core/insert?key=${key}&value=answer&maxAge=60000&meta=head`);
    expect(await get(host, `simple/get?key=${key}`)).toMatchObject({ status: 200, text: "answer" });
  });

  it("SimpleCache: getOrSet recomputes after the TTL; get still reads the expired value, as in Viceroy", async () => {
    const key = freshKey("simple-ttl");
    expect((await get(host, `simple/get-or-set?key=${key}&ttl=60`)).text).toBe(`computed ${key} #1`);
    await atOffset(61_000, async () => {
      // Viceroy's non-transactional lookup returns the object however old, and SimpleCache.get reads its body
      // without looking at its state.
      expect((await get(host, `simple/get?key=${key}`)).text).toBe(`computed ${key} #1`);
      expect((await get(host, `simple/get-or-set?key=${key}&ttl=60`)).text).toBe(`computed ${key} #2`);
    });
  });
});
