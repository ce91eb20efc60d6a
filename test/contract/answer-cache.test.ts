import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_POLICY } from "../../src/core/policy-document.ts";
import { indexFile, type VersionSpec, versionsIn } from "../server/index-lines.ts";
import { sparseIndexPath } from "../support/fake-crates-io.ts";
import { FixtureUpstream } from "../support/fixture-upstream.ts";
import { type Answer, closeClient, resourceHeaders, send } from "./client.ts";
import { HOMES, type RunningHome, startHome } from "./homes.ts";

// Cached filtered answers (the edge's Core Cache, src/edge/answer-cache.ts; the Node home's replay cache) against the
// promises of docs/fastly.md: a cached answer is the fresh one, and every change of data, policy, time or upstream
// shows within its documented bound and never earlier than the rules allow. The edge homes run without the
// purge-on-change the other suites use, so they show exactly the lag production has. The clock only moves forward.

const T0 = Math.floor(Date.now() / 1000);
const DAY = 86_400;
const WEEK = 7 * DAY;
const LIFETIME_MS = 300_000;
/** docs/fastly.md: a pushed policy applies at the edge within this (src/edge/cached-policy.ts). */
const POLICY_BOUND = 30;
/** The edge's `upstream_max_ttl_seconds` in this suite (the default). */
const UPSTREAM_MAX_TTL = 60;

let upstream: FixtureUpstream;

/**
 * Serves a crate's file as written at `date` (the home's clock): the edge keeps an answer no longer than
 * `upstream_max_ttl_seconds` after its upstream copy's `Date`, so a `Date` by the wall clock, behind a clock the suite
 * has moved on, would leave nothing cached and these tests would not reach the answer cache at all.
 */
function serveAt(date: number, name: string, versions: readonly VersionSpec[], maxAge = 86_400): string {
  upstream.set(`/${sparseIndexPath(name)}`, {
    body: indexFile(name, versions),
    headers: { "cache-control": `public, max-age=${maxAge}`, date: new Date(date * 1000).toUTCString() },
  });
  return sparseIndexPath(name);
}

beforeAll(async () => {
  upstream = await FixtureUpstream.start({ lifetimeMs: LIFETIME_MS });
});

afterAll(async () => {
  await upstream?.close();
  closeClient();
});

describe.each(HOMES)("cached answers on the %s home", (kind) => {
  let home: RunningHome;
  let now = T0;
  const serve = (name: string, versions: readonly VersionSpec[], maxAge?: number) =>
    serveAt(now, name, versions, maxAge);
  const get = (target: string, headers: Record<string, string> = {}, method = "GET") =>
    send(home.url, target, { headers, method });
  const failure = (answer: Answer) =>
    `${answer.status} ${answer.text}\n--- ${kind} log ---\n${home.log.slice(-20).join("\n")}`;
  const visible = async (path: string) => {
    const answer = await get(`7d/${path}`);
    expect(answer.status, failure(answer)).toBe(200);
    return versionsIn(answer.text);
  };

  beforeAll(async () => {
    home = await startHome(kind, {
      upstream: upstream.url,
      clock: () => now,
      lifetimeMs: LIFETIME_MS,
      purgeEdgeCachesOnChange: false,
      settings: { upstreamMaxTtlSeconds: UPSTREAM_MAX_TTL },
    });
  });
  afterAll(async () => {
    await home?.close();
  });

  it("answers a repeated request exactly as the first, without asking upstream again", async () => {
    const path = serve("repeated", [
      { vers: "1.0.0", publishedAt: T0 - 30 * DAY },
      { vers: "1.1.0", publishedAt: T0 - DAY },
    ]);
    // The fixture upstream is shared by every home: count this home's requests only.
    const asked = upstream.requestsFor(`/${path}`).length;
    const first = await get(`7d/${path}`);
    const second = await get(`7d/${path}`);
    expect(first.status, failure(first)).toBe(200);
    expect({ status: second.status, body: second.text, headers: resourceHeaders(second) }).toEqual({
      status: first.status,
      body: first.text,
      headers: resourceHeaders(first),
    });
    expect(upstream.requestsFor(`/${path}`).length - asked).toBe(1);
    const head = await get(`7d/${path}`, {}, "HEAD");
    expect(head.status).toBe(200);
    expect(head.body.byteLength).toBe(0);
    expect(head.headers["content-length"]).toBe(first.headers["content-length"]);
    expect(head.headers.etag).toBe(first.headers.etag);
  });

  it("answers an upstream failure as the core does, asking upstream once per request and keeping nothing", async () => {
    const path = sparseIndexPath("failing");
    upstream.set(`/${path}`, { body: "down for maintenance", status: 503, headers: { "retry-after": "7" } });
    const asked = upstream.requestsFor(`/${path}`).length;
    for (const method of ["GET", "HEAD"]) {
      const answer = await get(`7d/${path}`, { "if-none-match": '"x"' }, method);
      expect(answer.status, failure(answer)).toBe(503);
      expect(answer.headers["retry-after"]).toBe("7");
    }
    expect(upstream.requestsFor(`/${path}`).length - asked).toBe(2);
  });

  it("answers 304 to a matching If-None-Match on a hit, and 200 with the body to another", async () => {
    const path = serve("revalidated", [{ vers: "1.0.0", publishedAt: T0 - 30 * DAY }]);
    const asked = upstream.requestsFor(`/${path}`).length;
    const first = await get(`7d/${path}`);
    const etag = first.headers.etag as string;
    const notModified = await get(`7d/${path}`, { "if-none-match": `W/${etag}` });
    expect(notModified.status, failure(notModified)).toBe(304);
    expect(notModified.body.byteLength).toBe(0);
    expect(notModified.headers.etag).toBe(etag);
    expect(notModified.headers["cache-control"]).toBe(first.headers["cache-control"]);
    const other = await get(`7d/${path}`, { "if-none-match": '"other"' });
    expect(other.status).toBe(200);
    expect(other.text).toBe(first.text);
    expect(upstream.requestsFor(`/${path}`).length - asked).toBe(1);
  });

  it("says on a hit what remains of max-age: the first answer's minus the time since", async () => {
    const path = serve("ageing", [{ vers: "1.0.0", publishedAt: T0 - 30 * DAY }]);
    const first = await get(`7d/${path}`);
    const maxAge = Number(/max-age=(\d+)/.exec(first.headers["cache-control"] ?? "")?.[1]);
    expect(maxAge).toBeGreaterThan(10);
    now += 10;
    const later = await get(`7d/${path}`);
    expect(later.headers["cache-control"]).toBe(`public, max-age=${maxAge - 10}`);
    expect(later.text).toBe(first.text);
  });

  it("shows a version the moment it matures, never a second before", async () => {
    const start = now;
    const path = serve("maturing", [
      { vers: "1.0.0", publishedAt: T0 - 30 * DAY },
      { vers: "1.1.0", publishedAt: start - WEEK + 20 },
    ]);
    expect(await visible(path)).toEqual(["1.0.0"]);
    now = start + 19;
    expect(await visible(path)).toEqual(["1.0.0"]);
    now = start + 20;
    expect(await visible(path)).toEqual(["1.0.0", "1.1.0"]);
  });

  it("hides a version the moment its exception expires, never a second before", async () => {
    const start = now;
    const path = serve("excepted", [
      { vers: "1.0.0", publishedAt: T0 - 30 * DAY },
      { vers: "1.1.0", publishedAt: start - DAY },
    ]);
    expect(await visible(path)).toEqual(["1.0.0"]);
    const expires = start + POLICY_BOUND + 15;
    home.setPolicy({
      ...DEFAULT_POLICY,
      exceptions: [{ crate: "excepted", version: "1.1.0", reason: "needed (SEC-1)", expires }],
    });
    now = start + POLICY_BOUND;
    expect(await visible(path)).toEqual(["1.0.0", "1.1.0"]);
    now = expires - 1;
    expect(await visible(path)).toEqual(["1.0.0", "1.1.0"]);
    now = expires;
    expect(await visible(path)).toEqual(["1.0.0"]);
    home.setPolicy(DEFAULT_POLICY);
    now += POLICY_BOUND;
  });

  it("applies a new policy within 30 s of pushing it", async () => {
    const path = serve("kept-yanked", [
      { vers: "1.0.0", publishedAt: T0 - 30 * DAY },
      { vers: "1.1.0", publishedAt: T0 - 30 * DAY, yanked: true },
    ]);
    expect(await visible(path)).toEqual(["1.0.0"]);
    home.setPolicy({ ...DEFAULT_POLICY, yanked: "keep" });
    now += POLICY_BOUND;
    expect(await visible(path)).toEqual(["1.0.0", "1.1.0"]);
    home.setPolicy(DEFAULT_POLICY);
    now += POLICY_BOUND;
    expect(await visible(path)).toEqual(["1.0.0"]);
  });

  it("shows a newly pushed publish time within the answer's max-age", async () => {
    const path = serve("undated", [{ vers: "1.0.0", publishedAt: T0 - 30 * DAY }, { vers: "1.1.0" }]);
    const before = await get(`7d/${path}`);
    expect(versionsIn(before.text)).toEqual(["1.0.0"]);
    const maxAge = Number(/max-age=(\d+)/.exec(before.headers["cache-control"] ?? "")?.[1]);
    expect(maxAge).toBeLessThanOrEqual(60);
    home.recordTimes([{ crate: "undated", version: "1.1.0", publishedAt: T0 - 30 * DAY }]);
    now += maxAge;
    expect(await visible(path)).toEqual(["1.0.0", "1.1.0"]);
  });

  it.skipIf(kind === "node")(
    // The Node home's upstream cache follows upstream's own max-age by the wall clock, not the home's clock.
    "shows a yank upstream within upstream_max_ttl_seconds",
    async () => {
      const versions = [
        { vers: "1.0.0", publishedAt: T0 - 30 * DAY },
        { vers: "1.1.0", publishedAt: T0 - 30 * DAY },
      ];
      const path = serve("yanking", versions);
      expect(await visible(path)).toEqual(["1.0.0", "1.1.0"]);
      serve("yanking", [versions[0] as VersionSpec, { ...(versions[1] as VersionSpec), yanked: true }]);
      now += UPSTREAM_MAX_TTL;
      expect(await visible(path)).toEqual(["1.0.0"]);
    },
  );
});
