import { beforeEach, describe, expect, it } from "vitest";
import { strongEtagFor } from "../../src/core/etag.ts";
import { defaultRules } from "../../src/core/policy.ts";
import { type CooldownProxy, createCooldownProxy } from "../../src/core/proxy.ts";
import {
  DAY,
  FixedClock,
  HOUR,
  InMemoryPublishTimes,
  InMemoryUpstream,
  indexLine,
} from "../support/in-memory-ports.ts";

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0) / 1000;
const CONFIG = '{\n  "dl": "https://static.crates.io/crates",\n  "api": "https://crates.io"\n}';
const OLD = indexLine({ name: "serde", vers: "1.0.0", pubtime: NOW - 30 * DAY });
const YOUNG = indexLine({ name: "serde", vers: "1.0.1", pubtime: NOW - 2 * DAY });
const get = (proxy: CooldownProxy, path: string, init: RequestInit = {}) =>
  proxy(new Request(`http://proxy.test${path}`, init));

let upstream: InMemoryUpstream;
let times: InMemoryPublishTimes;
let clock: FixedClock;
let proxy: CooldownProxy;

beforeEach(() => {
  upstream = new InMemoryUpstream()
    .set("config.json", { body: CONFIG, headers: { "content-type": "application/json", etag: '"cfg"' } })
    .set("se/rd/serde", { body: OLD + YOUNG, headers: { "cache-control": "public, max-age=600", etag: '"up"' } });
  times = new InMemoryPublishTimes();
  clock = new FixedClock(NOW);
  proxy = createCooldownProxy({ upstream, publishTimes: times, clock, rules: defaultRules(false) });
});

describe("cooldown proxy", () => {
  it("hides a version published 2 days ago under /3d/ and keeps the old line byte for byte", async () => {
    const response = await get(proxy, "/3d/se/rd/serde");
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(OLD);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(response.headers.get("x-cooldown")).toBe(
      "window=3d; kept=1; hidden=1; too-young=1; yanked=0; unknown-age=0; unreadable=0; next-visible=2026-11-23T12:00:00Z",
    );
  });

  it("shows it under /1d/ and /36h/", async () => {
    expect(await (await get(proxy, "/1d/se/rd/serde")).text()).toBe(OLD + YOUNG);
    expect(await (await get(proxy, "/36h/se/rd/serde")).text()).toBe(OLD + YOUNG);
  });

  it("fetches the path without the window, so every window shares one upstream copy", async () => {
    await get(proxy, "/3d/se/rd/serde");
    await get(proxy, "/7d/se/rd/serde");
    expect(upstream.requests.map((r) => r.path)).toEqual(["se/rd/serde", "se/rd/serde"]);
  });

  it("passes the client's User-Agent upstream as-is", async () => {
    await get(proxy, "/3d/se/rd/serde", { headers: { "user-agent": "cargo/1.95.0 (f2d3ce0bd 2026-03-21)" } });
    expect(upstream.requests[0]?.headers.get("user-agent")).toBe("cargo/1.95.0 (f2d3ce0bd 2026-03-21)");
  });

  it("gives filtered files their own strong ETag, derived from upstream's tag and the kept lines", async () => {
    const three = await get(proxy, "/3d/se/rd/serde");
    const four = await get(proxy, "/4d/se/rd/serde");
    const one = await get(proxy, "/1d/se/rd/serde");
    expect(three.headers.get("etag")).toMatch(/^"[0-9a-f]{32}"$/);
    expect(three.headers.get("etag")).not.toBe('"up"');
    // Same kept lines of the same upstream file: same bytes, same tag; another kept set: another tag.
    expect(four.headers.get("etag")).toBe(three.headers.get("etag"));
    expect(one.headers.get("etag")).not.toBe(three.headers.get("etag"));
    // A new upstream file (new upstream tag) gives a new tag even when the same lines are kept.
    upstream.set("se/rd/serde", { body: OLD + YOUNG, headers: { etag: '"up2"' } });
    expect((await get(proxy, "/3d/se/rd/serde")).headers.get("etag")).not.toBe(three.headers.get("etag"));
  });

  it("hashes the filtered body itself when upstream has no strong ETag", async () => {
    for (const headers of [{}, { etag: 'W/"weak"' }] as Record<string, string>[]) {
      upstream.set("se/rd/serde", { body: OLD + YOUNG, headers });
      const response = await get(proxy, "/3d/se/rd/serde");
      expect(response.headers.get("etag")).toBe(await strongEtagFor(new TextEncoder().encode(OLD)));
    }
  });

  it("sends the kept lines' original bytes, non-ASCII text included", async () => {
    const unicode = indexLine({ name: "serde", vers: "1.0.2", pubtime: NOW - 40 * DAY, features: { "größe-🦀": [] } });
    upstream.set("se/rd/serde", { body: unicode + YOUNG + OLD });
    const body = new Uint8Array(await (await get(proxy, "/3d/se/rd/serde")).arrayBuffer());
    expect(body).toEqual(new TextEncoder().encode(unicode + OLD));
    upstream.set("se/rd/serde", { body: OLD + YOUNG + OLD });
    expect(new Uint8Array(await (await get(proxy, "/3d/se/rd/serde")).arrayBuffer())).toEqual(
      new TextEncoder().encode(OLD + OLD),
    );
  });

  it("decodes upstream bodies with the decodeBody it is given (the edge's cheaper way), and answers 502 when it throws", async () => {
    const decoded: string[] = [];
    const decodeBody = async (bytes: Uint8Array<ArrayBuffer>) => {
      const text = new TextDecoder().decode(bytes);
      decoded.push(text);
      if (text.includes("refuse")) throw new TypeError("not UTF-8");
      return text;
    };
    upstream.set("re/fu/refuse", { body: indexLine({ name: "refuse", vers: "1.0.0", pubtime: NOW - 30 * DAY }) });
    const decoding = createCooldownProxy({
      upstream,
      publishTimes: times,
      clock,
      rules: defaultRules(false),
      decodeBody,
    });
    expect(await (await get(decoding, "/3d/se/rd/serde")).text()).toBe(OLD);
    expect(decoded).toEqual([OLD + YOUNG]);
    const refused = await get(decoding, "/3d/re/fu/refuse");
    expect([refused.status, await refused.text()]).toEqual([502, expect.stringContaining("UTF-8")]);
  });

  it("answers If-None-Match with 304 and the same headers, and 200 once the visible set changes", async () => {
    const first = await get(proxy, "/3d/se/rd/serde");
    const etag = first.headers.get("etag") as string;
    const again = await get(proxy, "/3d/se/rd/serde", { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    expect(again.headers.get("etag")).toBe(etag);
    clock.at = NOW + DAY;
    const matured = await get(proxy, "/3d/se/rd/serde", { headers: { "if-none-match": etag } });
    expect(matured.status).toBe(200);
    expect(await matured.text()).toBe(OLD + YOUNG);
    expect(matured.headers.get("etag")).not.toBe(etag);
  });

  it("caps max-age at the moment the next hidden version matures, and at upstream's max-age", async () => {
    clock.at = NOW + DAY - 100;
    expect((await get(proxy, "/3d/se/rd/serde")).headers.get("cache-control")).toBe("public, max-age=100");
    clock.at = NOW;
    expect((await get(proxy, "/3d/se/rd/serde")).headers.get("cache-control")).toBe("public, max-age=600");
  });

  it("never lets a filtered answer outlive the cached upstream copy it was built from (Age)", async () => {
    upstream.set("se/rd/serde", { body: OLD + YOUNG, headers: { "cache-control": "public, max-age=600", age: "550" } });
    expect((await get(proxy, "/3d/se/rd/serde")).headers.get("cache-control")).toBe("public, max-age=50");
  });

  it("answers HEAD with the same headers as GET and no body", async () => {
    const getResponse = await get(proxy, "/3d/se/rd/serde");
    const head = await get(proxy, "/3d/se/rd/serde", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    expect([...head.headers]).toEqual([...getResponse.headers]);
  });

  it.each(["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])("refuses %s with 405 and Allow: GET, HEAD", async (method) => {
    const response = await get(proxy, "/3d/se/rd/serde", { method });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET, HEAD");
    expect(upstream.requests).toHaveLength(0);
  });

  it("passes config.json through byte-identical under every window", async () => {
    for (const window of ["0d", "3d", "30d", "12h"]) {
      const response = await get(proxy, `/${window}/config.json`);
      expect(response.status).toBe(200);
      expect(new Uint8Array(await response.arrayBuffer())).toEqual(new TextEncoder().encode(CONFIG));
      expect(response.headers.get("etag")).toBe('"cfg"');
    }
  });

  it("passes /0d/ through untouched, headers and status included", async () => {
    const response = await get(proxy, "/0d/se/rd/serde");
    expect(await response.text()).toBe(OLD + YOUNG);
    expect(response.headers.get("etag")).toBe('"up"');
    expect(response.headers.get("x-cooldown")).toBeNull();
    expect((await get(proxy, "/0d/xx/yy/xxyy")).status).toBe(404);
  });

  it("forwards conditional headers on pass-through so upstream can answer 304", async () => {
    await get(proxy, "/0d/se/rd/serde", { headers: { "if-none-match": '"up"' } });
    expect(upstream.requests[0]?.headers.get("if-none-match")).toBe('"up"');
  });

  it.each([
    ["/", "expected /<window>/<index path>"],
    ["/7d", "expected /<window>/<index path>"],
    ["/7d/", "empty index path"],
    ["/03d/se/rd/serde", "is not a window"],
    ["/+3d/se/rd/serde", "is not a window"],
    ["/3D/se/rd/serde", "is not a window"],
    ["/31d/se/rd/serde", "is not a window"],
    ["/7d/se/rd/Serde", "not a lowercase crate name"],
    ["/7d/se%2Frd%2Fserde", "not a lowercase crate name"],
    ["/7d/xx/yy/serde", "does not match"],
    ["/7d/se/rd/../rd/../../etc/passwd", "does not match"],
  ])("answers %s with 404 and a one-line reason, without asking upstream", async (path, reason) => {
    const response = await get(proxy, path);
    expect(response.status).toBe(404);
    const text = await response.text();
    expect(text).toContain(reason);
    expect(text.trimEnd().split("\n")).toHaveLength(1);
    expect(upstream.requests).toHaveLength(0);
  });

  it("turns upstream 404, 410 and 451 into 404", async () => {
    upstream.set("ab/cd/abcd", { status: 410 }).set("ab/ce/abce", { status: 451 });
    for (const path of ["/7d/xx/yy/xxyy", "/7d/ab/cd/abcd", "/7d/ab/ce/abce"]) {
      const response = await get(proxy, path);
      expect(response.status, path).toBe(404);
    }
  });

  it("turns upstream 5xx and 429 into 503 with Retry-After, never an unfiltered body", async () => {
    upstream.set("se/rd/serde", { status: 500, body: OLD + YOUNG });
    let response = await get(proxy, "/3d/se/rd/serde");
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("5");
    expect(await response.text()).not.toContain("1.0.1");
    upstream.set("se/rd/serde", { status: 429, headers: { "retry-after": "30" } });
    response = await get(proxy, "/3d/se/rd/serde");
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("30");
  });

  it("answers 503 when upstream is unreachable or too slow", async () => {
    upstream.set("se/rd/serde", () => Promise.reject(new TypeError("connect ECONNREFUSED")));
    const refused = await get(proxy, "/3d/se/rd/serde");
    expect(refused.status).toBe(503);
    expect(await refused.text()).toContain("ECONNREFUSED");
    const slow = createCooldownProxy({
      upstream,
      publishTimes: times,
      clock,
      rules: defaultRules(false),
      upstreamTimeoutMs: 20,
    });
    upstream.set("se/rd/serde", () => new Promise<Response>(() => {}));
    const timedOut = await get(slow, "/3d/se/rd/serde");
    expect(timedOut.status).toBe(503);
    expect(await timedOut.text()).toContain("did not answer in time");
  });

  it("answers 502 for a body it cannot decode or read, never passing it on", async () => {
    upstream.set("se/rd/serde", { body: OLD, headers: { "content-encoding": "br" } });
    expect((await get(proxy, "/3d/se/rd/serde")).status).toBe(502);
    upstream.set("se/rd/serde", { body: new Uint8Array([0x7b, 0xff, 0xfe, 0x0a]) });
    expect((await get(proxy, "/3d/se/rd/serde")).status).toBe(502);
    upstream.set("se/rd/serde", { body: "<html><body>maintenance</body></html>\n" });
    expect((await get(proxy, "/3d/se/rd/serde")).status).toBe(502);
    upstream.set("se/rd/serde", { status: 302, headers: { location: "http://elsewhere/" } });
    expect((await get(proxy, "/3d/se/rd/serde")).status).toBe(502);
  });

  it("answers an empty 200 with its own ETag when every version is hidden", async () => {
    upstream.set("se/rd/serde", { body: YOUNG });
    const response = await get(proxy, "/7d/se/rd/serde");
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("");
    expect(response.headers.get("etag")).toBe(await strongEtagFor(new Uint8Array()));
    expect(response.headers.get("x-cooldown")).toContain("kept=0; hidden=1");
  });

  it("consults the timestamp store only when some line lacks a valid pubtime, with security-fix admission off", async () => {
    const rules = defaultRules(false);
    proxy = createCooldownProxy({
      upstream,
      publishTimes: times,
      clock,
      rules: { ...rules, securityFixes: { enabled: false, floor: 3600 } },
    });
    await get(proxy, "/3d/se/rd/serde");
    expect(times.lookups).toBe(0);
    upstream.set("se/rd/serde", { body: OLD + indexLine({ name: "serde", vers: "1.0.2" }) });
    await get(proxy, "/3d/se/rd/serde");
    expect(times.lookups).toBe(1);
  });

  it("hides a line without pubtime until the store knows its time, then decides by that time", async () => {
    const bare = indexLine({ name: "serde", vers: "1.0.2" });
    upstream.set("se/rd/serde", { body: OLD + bare });
    let response = await get(proxy, "/3d/se/rd/serde");
    expect(await response.text()).toBe(OLD);
    expect(response.headers.get("x-cooldown")).toContain("unknown-age=1");
    expect(response.headers.get("cache-control")).toBe("public, max-age=60");
    times.set("serde", "1.0.2", NOW - 4 * DAY);
    response = await get(proxy, "/3d/se/rd/serde");
    expect(await response.text()).toBe(OLD + bare);
  });

  it("fails closed with 503 when the timestamp store is unavailable", async () => {
    upstream.set("se/rd/serde", { body: OLD + indexLine({ name: "serde", vers: "1.0.2" }) });
    times.failWith = new Error("KV read failed");
    const response = await get(proxy, "/3d/se/rd/serde");
    expect(response.status).toBe(503);
    expect(await response.text()).toContain("KV read failed");
  });

  it("shows a version the moment it matures, not a second earlier", async () => {
    const fresh = indexLine({ name: "serde", vers: "1.0.3", pubtime: NOW - HOUR });
    upstream.set("se/rd/serde", { body: OLD + fresh });
    clock.at = NOW + HOUR - 1;
    expect(await (await get(proxy, "/2h/se/rd/serde")).text()).toBe(OLD);
    clock.at = NOW + HOUR;
    expect(await (await get(proxy, "/2h/se/rd/serde")).text()).toBe(OLD + fresh);
  });
});
