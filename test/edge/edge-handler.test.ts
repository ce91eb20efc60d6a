import { beforeEach, describe, expect, it } from "vitest";
import { encodeFreshness } from "../../src/core/freshness.ts";
import { DEFAULT_POLICY, encodePolicy } from "../../src/core/policy-document.ts";
import { encodeCrateRecord } from "../../src/core/publish-times.ts";
import type { BackendRequestInit } from "../../src/edge/backend-upstream.ts";
import { POLICY_CACHE_SECONDS } from "../../src/edge/cached-policy.ts";
import { createEdgeHandler } from "../../src/edge/edge-handler.ts";
import { cacheLog, resetCoreCache, simpleCacheSharing } from "./fastly-doubles/cache.ts";
import { resetConfigStores, seedConfigStore } from "./fastly-doubles/config-store.ts";
import { kvLog, resetKvStores, seedKvStore } from "./fastly-doubles/kv-store.ts";

const NOW = Date.parse("2026-09-21T12:00:00Z") / 1000;
const clock = { now: () => NOW };

const OLD =
  '{"name":"demo","vers":"1.0.0","deps":[],"cksum":"aa","features":{},"yanked":false,"pubtime":"2026-08-01T00:00:00Z"}\n';
const YOUNG =
  '{"name":"demo","vers":"1.1.0","deps":[],"cksum":"bb","features":{},"yanked":false,"pubtime":"2026-09-20T00:00:00Z"}\n';
/** A file crates.io last wrote before it had pubtime: no line has one. */
const PRE_PUBTIME = '{"name":"olden","vers":"0.1.0","deps":[],"cksum":"cc","features":{},"yanked":false}\n';
const CONFIG_JSON = '{\n  "dl": "https://static.crates.io/crates",\n  "api": "https://crates.io"\n}';

function fakeIndex(files: Record<string, string>) {
  const calls: Array<{ url: string; init: BackendRequestInit }> = [];
  const fetch = async (url: string, init: BackendRequestInit) => {
    calls.push({ url, init });
    const body = files[new URL(url).pathname.slice(1)];
    if (body === undefined) return new Response("not found", { status: 404 });
    return new Response(body, { status: 200, headers: { "cache-control": "public, max-age=300", etag: '"upstream"' } });
  };
  return { calls, fetch };
}

/** demo's file as upstream sends it: with a strong ETag, a lifetime and a `Date`, so its answer is cached. */
function cacheableDemo(): Response {
  return new Response(OLD + YOUNG, {
    headers: { "cache-control": "public, max-age=300", etag: '"upstream"', date: new Date(NOW * 1000).toUTCString() },
  });
}

/**
 * The handler for demo's cacheable file on a clock the test moves (the Core Cache double on the same clock), counting
 * the answers it computes (each fetches upstream once).
 */
function demoOnMovingClock() {
  const edge = { now: NOW, computed: 0, url: "https://cooldown.example/7d/de/mo/demo" };
  const fetch = async () => {
    edge.computed++;
    return cacheableDemo();
  };
  const handle = createEdgeHandler({ fetch, clock: { now: () => edge.now } });
  resetCoreCache(() => edge.now * 1000);
  return { edge, handle };
}

describe("the edge handler", () => {
  beforeEach(() => {
    resetKvStores();
    resetConfigStores();
    resetCoreCache(() => NOW * 1000);
    seedKvStore("cooldown_times", {});
  });

  it("serves a filtered index file fetched through the crates_io_index backend, marked for compression", async () => {
    const index = fakeIndex({ "de/mo/demo": OLD + YOUNG });
    const handle = createEdgeHandler({ fetch: index.fetch, clock });
    const response = await handle(new Request("https://cooldown.example/7d/de/mo/demo"));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(OLD);
    expect(response.headers.get("x-compress-hint")).toBe("on");
    expect(response.headers.get("x-cooldown")).toContain("too-young=1");
    expect(index.calls.map((call) => [call.url, call.init.backend])).toEqual([
      ["https://index.crates.io/de/mo/demo", "crates_io_index"],
    ]);
  });

  it("reads the policy, then the crate's record under its lowercased name, from cooldown_times", async () => {
    const handle = createEdgeHandler({ fetch: fakeIndex({ "de/mo/demo": OLD + YOUNG }).fetch, clock });
    await handle(new Request("https://cooldown.example/7d/de/mo/demo"));
    expect(kvLog.gets).toEqual([
      { store: "cooldown_times", key: "_policy" },
      { store: "cooldown_times", key: "demo" },
    ]);
  });

  it("answers a repeated request from the Core Cache: no KV lookup, no upstream fetch, the same answer", async () => {
    const calls: string[] = [];
    const fetch = async (url: string) => {
      calls.push(url);
      return cacheableDemo();
    };
    const handle = createEdgeHandler({ fetch, clock });
    const first = await handle(new Request("https://cooldown.example/7d/de/mo/demo"));
    const firstText = await first.text();
    kvLog.gets.length = 0;
    const second = await handle(new Request("https://cooldown.example/7d/de/mo/demo"));
    expect(await second.text()).toBe(firstText);
    expect([...second.headers]).toEqual([...first.headers]);
    expect(kvLog.gets).toEqual([]);
    expect(calls).toHaveLength(1);
    const notModified = await handle(
      new Request("https://cooldown.example/7d/de/mo/demo", {
        headers: { "if-none-match": first.headers.get("etag") ?? "" },
      }),
    );
    expect(notModified.status).toBe(304);
  });

  it("answers a GET hit in one lookup, its body read whole through SimpleCache; a 304 or HEAD hit in one lookup, reading no body", async () => {
    const handle = createEdgeHandler({ fetch: async () => cacheableDemo(), clock });
    const url = "https://cooldown.example/7d/de/mo/demo";
    const first = await handle(new Request(url));
    const firstText = await first.text();
    const answerKey = cacheLog.inserts.map((insert) => insert.key).find((key) => key.includes("/answer/")) ?? "";
    expect(answerKey).toMatch(/^crates-cooldown\/answer\/v4\/7d\/de\/mo\/demo\//);
    // Not the policy's either: the entry says until when the policy it was made under may stand.
    const lookupsBefore = cacheLog.lookups.length;
    const simpleBefore = cacheLog.simpleLookups.length;
    const hit = await handle(new Request(url));
    expect(await hit.text()).toBe(firstText);
    expect([...hit.headers]).toEqual([...first.headers]);
    expect(cacheLog.simpleLookups.slice(simpleBefore)).toEqual([answerKey]);
    expect(cacheLog.lookups.slice(lookupsBefore)).toEqual([]);
    const etag = first.headers.get("etag") ?? "";
    expect((await handle(new Request(url, { headers: { "if-none-match": etag } }))).status).toBe(304);
    const head = await handle(new Request(url, { method: "HEAD" }));
    expect([head.status, await head.text(), head.headers.get("etag")]).toEqual([200, "", etag]);
    expect(cacheLog.simpleLookups.slice(simpleBefore)).toEqual([answerKey]);
    // The 304 and the HEAD: each the answer's transaction lookup for its head, and no lookup of the policy.
    expect(cacheLog.lookups.slice(lookupsBefore)).toEqual([answerKey, answerKey]);
  });

  it("serves a hit without the policy while its copy may stand, then once the policy in force has the same revision", async () => {
    const { edge, handle } = demoOnMovingClock();
    const url = edge.url;
    const firstText = await (await handle(new Request(url))).text();
    const lifetimeMs = cacheLog.inserts.find((insert) => insert.key.includes("/answer/"))?.maxAge ?? 0;
    expect(lifetimeMs).toBeGreaterThan(31_000);
    const policyReads = () => kvLog.gets.filter((get) => get.key === "_policy").length;
    const policyLookups = () => cacheLog.lookups.filter((key) => key.includes("/policy/")).length;
    const [readsBefore, lookupsBefore] = [policyReads(), policyLookups()];
    edge.now += POLICY_CACHE_SECONDS - 1;
    expect(await (await handle(new Request(url))).text()).toBe(firstText);
    expect([policyReads(), policyLookups()]).toEqual([readsBefore, lookupsBefore]);
    // The copy of the policy has ended: read again, the same revision, the same entry.
    edge.now += 1;
    expect(await (await handle(new Request(url))).text()).toBe(firstText);
    expect([policyReads(), policyLookups()]).toEqual([readsBefore + 1, lookupsBefore + 1]);
    expect(edge.computed).toBe(1);
  });

  it("makes an answer again under a new policy once the copy of the old one has ended, and stores it in its place", async () => {
    const { edge, handle } = demoOnMovingClock();
    const url = edge.url;
    const first = await handle(new Request(url));
    expect(await first.text()).toBe(OLD);
    const conditional = () => new Request(url, { headers: { "if-none-match": first.headers.get("etag") ?? "" } });
    seedKvStore("cooldown_times", {
      _policy: encodePolicy({
        ...DEFAULT_POLICY,
        exceptions: [{ crate: "demo", version: "1.1.0", reason: "needed", expires: NOW + 86_400 }],
      }),
    });
    edge.now += POLICY_CACHE_SECONDS - 1;
    expect(await (await handle(new Request(url))).text()).toBe(OLD);
    edge.now += 1;
    const answerInserts = () => cacheLog.inserts.filter((insert) => insert.key.includes("/answer/")).length;
    const insertsBefore = answerInserts();
    // Asked with the old answer's ETag (the entry's head, no body read): not that answer's 304, the new answer.
    const changed = await handle(conditional());
    expect([changed.status, await changed.text()]).toEqual([200, OLD + YOUNG]);
    expect(answerInserts()).toBe(insertsBefore + 1);
    // The new entry stands in the old one's place: the next hit finds it, without the policy.
    const lookupsBefore = cacheLog.lookups.length;
    expect(await (await handle(new Request(url))).text()).toBe(OLD + YOUNG);
    expect(cacheLog.lookups.slice(lookupsBefore)).toEqual([]);
  });

  it("answers 503 from a cached answer's key once the copy of its policy has ended and no policy can be read", async () => {
    const { edge, handle } = demoOnMovingClock();
    const url = edge.url;
    const first = await handle(new Request(url));
    expect(await first.text()).toBe(OLD);
    seedKvStore("cooldown_times", { _policy: '{"v":99}' });
    edge.now += POLICY_CACHE_SECONDS - 1;
    expect((await handle(new Request(url))).status).toBe(200);
    edge.now += 1;
    const conditional = { headers: { "if-none-match": first.headers.get("etag") ?? "" } };
    for (const request of [new Request(url), new Request(url, conditional), new Request(url, { method: "HEAD" })]) {
      const refused = await handle(request);
      expect([request.method, refused.status]).toEqual([request.method, 503]);
    }
  });

  it("never answers from an entry past its end that a lookup without a transaction still finds", async () => {
    const { edge, handle } = demoOnMovingClock();
    const url = edge.url;
    const first = await handle(new Request(url));
    // The entry lives the answer's max-age less the time it took to make (whole seconds on the edge's clock).
    const lifetimeMs = cacheLog.inserts.find((insert) => insert.key.includes("/answer/"))?.maxAge ?? 0;
    const lifetimeSeconds = Math.ceil(lifetimeMs / 1000);
    expect(lifetimeSeconds).toBeGreaterThan(1);
    edge.now += lifetimeSeconds - 1;
    expect(await (await handle(new Request(url))).text()).toBe(await first.text());
    expect(edge.computed).toBe(1);
    edge.now += 1;
    await handle(new Request(url));
    expect(edge.computed).toBe(2);
  });

  it("stores a new answer and its kept scan only after the answer has gone out, given work after the answer", async () => {
    const later: Array<() => void> = [];
    const afterAnswer = (work: () => void) => later.push(work);
    // Large enough for its scan to be kept (scan-cache.ts).
    const old = Array.from({ length: 400 }, (_, patch) => OLD.replace('"1.0.0"', `"1.0.${patch}"`)).join("");
    const calls: string[] = [];
    const fetch = async (url: string) => {
      calls.push(url);
      return new Response(old + YOUNG, { headers: cacheableDemo().headers });
    };
    const handle = createEdgeHandler({ fetch, clock });
    const url = "https://cooldown.example/7d/de/mo/demo";
    const stored = () =>
      cacheLog.inserts
        .map((insert) => insert.key.split("/")[1])
        .filter((kind) => kind === "answer" || kind === "scan-v1");
    const first = await handle(new Request(url), { afterAnswer });
    expect(await first.text()).toBe(old);
    expect(stored()).toEqual([]);
    expect(later).toHaveLength(2);
    for (const work of later.splice(0)) work();
    expect(stored().sort()).toEqual(["answer", "scan-v1"]);
    const hit = await handle(new Request(url), { afterAnswer });
    expect(await hit.text()).toBe(old);
    expect([...hit.headers]).toEqual([...first.headers]);
    expect(calls).toHaveLength(1);
    expect(later).toEqual([]);
  });

  it("keeps an answer stored after it went out no longer than it would have kept it stored at once", async () => {
    let now = NOW;
    const moving = { now: () => now };
    let computed = 0;
    const fetch = async () => {
      computed++;
      return cacheableDemo();
    };
    const url = "https://cooldown.example/7d/de/mo/demo";
    const answerLifetime = () => cacheLog.inserts.find((insert) => insert.key.includes("/answer/"))?.maxAge ?? 0;
    resetCoreCache(() => now * 1000);
    await (await createEdgeHandler({ fetch, clock: moving })(new Request(url))).text();
    // The max-age it was stored with, in whole seconds (less the moments the request took).
    const atOnce = Math.ceil(answerLifetime() / 1000);
    expect(atOnce).toBeGreaterThan(20);
    resetCoreCache(() => now * 1000);
    const later: Array<() => void> = [];
    const handle = createEdgeHandler({ fetch, clock: moving });
    const ask = async () => (await handle(new Request(url), { afterAnswer: (work) => later.push(work) })).text();
    await ask();
    now += 10;
    for (const work of later.splice(0)) work();
    expect(answerLifetime()).toBeLessThanOrEqual((atOnce - 10) * 1000);
    expect(answerLifetime()).toBeGreaterThan((atOnce - 11) * 1000);
    now = NOW + atOnce - 1;
    await ask();
    expect(computed).toBe(2);
    now = NOW + atOnce;
    await ask();
    expect(computed).toBe(3);
  });

  it("reads a hit's body from the Core Cache entry itself when SimpleCache does not find it", async () => {
    const handle = createEdgeHandler({ fetch: async () => cacheableDemo(), clock });
    const url = "https://cooldown.example/7d/de/mo/demo";
    const first = await handle(new Request(url));
    const firstText = await first.text();
    simpleCacheSharing.enabled = false;
    const simpleBefore = cacheLog.simpleLookups.length;
    const hit = await handle(new Request(url));
    expect(await hit.text()).toBe(firstText);
    expect([...hit.headers]).toEqual([...first.headers]);
    // Tried once before the transaction and once for the body it found.
    expect(cacheLog.simpleLookups.length - simpleBefore).toBe(2);
  });

  it("asks the core every time with answer_cache off in the Config Store (the policy stays cached)", async () => {
    seedConfigStore("cooldown_config", { answer_cache: "off" });
    const calls: string[] = [];
    const fetch = async (url: string) => {
      calls.push(url);
      return new Response(OLD, {
        headers: { "cache-control": "public, max-age=300", date: new Date(NOW * 1000).toUTCString() },
      });
    };
    const handle = createEdgeHandler({ fetch, clock });
    await handle(new Request("https://cooldown.example/7d/de/mo/demo"));
    await handle(new Request("https://cooldown.example/7d/de/mo/demo"));
    expect(calls).toHaveLength(2);
    expect(kvLog.gets.filter((get) => get.key === "_policy")).toHaveLength(1);
  });

  it("decides lines without pubtime with times from the cooldown_times KV store", async () => {
    seedKvStore("cooldown_times", {
      olden: encodeCrateRecord({ crate: "olden", versions: new Map([["0.1.0", NOW - 86_400]]) }),
    });
    const handle = createEdgeHandler({ fetch: fakeIndex({ "ol/de/olden": PRE_PUBTIME }).fetch, clock });
    const response = await handle(new Request("https://cooldown.example/7d/ol/de/olden"));
    expect(kvLog.gets).toContainEqual({ store: "cooldown_times", key: "olden" });
    expect(await response.text()).toBe("");
    expect(response.headers.get("x-cooldown")).toContain("too-young=1");
  });

  it("shows a file without any pubtime by the pre-pubtime inference while the switch is on (the default)", async () => {
    const handle = createEdgeHandler({ fetch: fakeIndex({ "ol/de/olden": PRE_PUBTIME }).fetch, clock });
    const response = await handle(new Request("https://cooldown.example/7d/ol/de/olden"));
    expect(await response.text()).toBe(PRE_PUBTIME);
  });

  it("hides versions of unknown age when pre_pubtime_inference is off in the Config Store", async () => {
    seedConfigStore("cooldown_config", { pre_pubtime_inference: "off" });
    const handle = createEdgeHandler({ fetch: fakeIndex({ "ol/de/olden": PRE_PUBTIME }).fetch, clock });
    const response = await handle(new Request("https://cooldown.example/7d/ol/de/olden"));
    expect(await response.text()).toBe("");
    expect(response.headers.get("x-cooldown")).toContain("unknown-age=1");
  });

  it("caps the upstream cache TTL with upstream_max_ttl_seconds from the Config Store", async () => {
    seedConfigStore("cooldown_config", { upstream_max_ttl_seconds: "15" });
    const index = fakeIndex({ "de/mo/demo": OLD });
    await createEdgeHandler({ fetch: index.fetch, clock })(new Request("https://cooldown.example/7d/de/mo/demo"));
    const stored = {
      headers: new Headers({ "cache-control": "max-age=300, stale-while-revalidate=600" }),
      ttl: 300 as number | undefined,
      swr: 600 as number | undefined,
    };
    await index.calls[0]?.init.cacheOverride.afterSend?.(stored);
    expect([stored.ttl, stored.swr]).toEqual([15, 0]);
  });

  it("passes config.json through byte-identical, also marked for compression", async () => {
    const handle = createEdgeHandler({ fetch: fakeIndex({ "config.json": CONFIG_JSON }).fetch, clock });
    const response = await handle(new Request("https://cooldown.example/7d/config.json"));
    expect(await response.text()).toBe(CONFIG_JSON);
    expect(response.headers.get("x-compress-hint")).toBe("on");
  });

  it("answers /-/status as the edge home, with the freshness kv push wrote and the configured rules", async () => {
    seedKvStore("cooldown_times", {
      _freshness: encodeFreshness({
        dumpWatermark: NOW - 3_600,
        lastFeedPoll: NOW - 60,
        lastKvPush: NOW - 30,
        feedGap: null,
      }),
    });
    seedConfigStore("cooldown_config", { pre_pubtime_inference: "off" });
    const response = await createEdgeHandler({ fetch: fakeIndex({}).fetch, clock })(
      new Request("https://cooldown.example/-/status"),
    );
    const status = (await response.json()) as {
      home: string;
      rules: { pre_pubtime_inference: { enabled: boolean } };
      data: { stale: boolean };
    };
    expect(status.home).toBe("edge");
    expect(status.rules.pre_pubtime_inference.enabled).toBe(false);
    expect(status.data.stale).toBe(false);
    expect(response.headers.get("x-compress-hint")).toBe("on");
  });

  it("applies the policy pushed to KV: an exception shows a version younger than the window", async () => {
    seedKvStore("cooldown_times", {
      _policy: encodePolicy({
        ...DEFAULT_POLICY,
        exceptions: [{ crate: "demo", version: "1.1.0", reason: "hotfix", expires: NOW + 86_400 }],
      }),
    });
    const handle = createEdgeHandler({ fetch: fakeIndex({ "de/mo/demo": OLD + YOUNG }).fetch, clock });
    const response = await handle(new Request("https://cooldown.example/7d/de/mo/demo"));
    expect(await response.text()).toBe(OLD + YOUNG);
  });

  it("answers 503 without asking upstream when the pushed policy cannot be read", async () => {
    seedKvStore("cooldown_times", { _policy: '{"v":99}' });
    const index = fakeIndex({ "de/mo/demo": OLD + YOUNG });
    const response = await createEdgeHandler({ fetch: index.fetch, clock })(
      new Request("https://cooldown.example/7d/de/mo/demo"),
    );
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("5");
    expect(await response.text()).toContain("policy unavailable");
    expect(index.calls).toEqual([]);
  });
});

describe("the edge handler's explain route", () => {
  beforeEach(() => {
    resetKvStores();
    resetConfigStores();
    seedKvStore("cooldown_times", {});
  });

  it("explains every version as text and as JSON, and answers 404 for an unknown crate or a bad window", async () => {
    const handle = createEdgeHandler({ fetch: fakeIndex({ "de/mo/demo": OLD + YOUNG }).fetch, clock });
    const text = await (await handle(new Request("https://cooldown.example/7d/-/explain/demo"))).text();
    expect(text).toContain("demo under /7d/ at 2026-09-21T12:00:00Z: 1 of 2 versions visible");
    expect(text).toMatch(/1\.1\.0\s+2026-09-20T00:00:00Z\s+pubtime\s+no\s+too young until 2026-09-27T00:00:00Z/);
    const json = (await (
      await handle(
        new Request("https://cooldown.example/7d/-/explain/Demo", { headers: { accept: "application/json" } }),
      )
    ).json()) as {
      crate: string;
      versions: { version: string; visible: boolean; reason: string | null }[];
    };
    expect(json.crate).toBe("demo");
    expect(json.versions.map((v) => [v.version, v.visible, v.reason])).toEqual([
      ["1.0.0", true, null],
      ["1.1.0", false, "too-young"],
    ]);
    expect((await handle(new Request("https://cooldown.example/7d/-/explain/nosuch"))).status).toBe(404);
    expect((await handle(new Request("https://cooldown.example/7D/-/explain/demo"))).status).toBe(404);
  });
});
