import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ingestFeed } from "../../src/feed/ingest-feed.ts";
import { type ApiDrain, ingestWatch } from "../../src/job/ingest-watch.ts";
import { META_KEYS } from "../../src/store/meta-keys.ts";
import { TimestampDatabase } from "../../src/store/timestamp-database.ts";
import { databaseContents, scratch } from "../support/dump-test-kit.ts";
import { type FakeCratesIoApi, startFakeCratesIoApi } from "../support/fake-crates-io-api.ts";
import { type FakeFeedItem, renderFeed } from "../support/fake-updates-feed.ts";

// `ingest watch` drains the queue of crates.io API lookups that its feed job fills: its own scheduled job, one request
// a second at most across the whole process, Retry-After honoured, stopped at once by an abort. Real SQLite, a fake
// crates.io API on 127.0.0.1 answering JSON shaped as crates.io's, a feed file; every run stops by itself.

const NOW = Math.floor(Date.now() / 1000);
const DAY = 86_400;
const USER_AGENT = "crates-cooldown/0.0.0 (+ops@example.com)";

let api: FakeCratesIoApi;

beforeAll(async () => {
  api = await startFakeCratesIoApi();
  // onering: alice for years, then eve two minutes ago (served one version a page: two requests).
  api.setCrate(
    "onering",
    [
      { num: "1.4.0", createdAt: NOW - 60 * DAY, publishedBy: [1, "alice"], trustpub: null },
      { num: "1.4.1", createdAt: NOW - 120, publishedBy: [66, "eve"], trustpub: null },
    ],
    1,
  );
  api.setCrate("steady", [{ num: "2.0.0", createdAt: NOW - 300, publishedBy: [2, "bob"], trustpub: null }]);
  api.setCrate("quiet", [{ num: "0.3.0", createdAt: NOW - 200, publishedBy: [3, "carol"], trustpub: null }]);
});
afterAll(async () => {
  await api?.close();
});
beforeEach(() => {
  api.requests.length = 0;
});

/**
 * A database as after a dump with trust data (so the feed queues lookups) whose next dump is an hour away, and a feed
 * file with these new versions.
 */
function setUp(items: readonly FakeFeedItem[]): { dbPath: string; feed: string } {
  const dir = scratch();
  const dbPath = join(dir, "t.sqlite");
  const database = new TimestampDatabase(dbPath);
  database.setMeta(META_KEYS.trustDataSince, String(NOW - DAY));
  database.setMeta(META_KEYS.dumpLastRun, JSON.stringify({ finishedAt: NOW }));
  database.close();
  const feed = join(dir, "updates.xml");
  writeFileSync(feed, renderFeed(items));
  return { dbPath, feed };
}

const FEED: FakeFeedItem[] = [
  { crate: "onering", version: "1.4.1", publishedAt: NOW - 120 },
  { crate: "steady", version: "2.0.0", publishedAt: NOW - 300 },
  { crate: "quiet", version: "0.3.0", publishedAt: NOW - 200 },
];

/**
 * Runs `ingest watch` (feed and dump an hour apart, the API drain as given) until `done` says so, or `timeoutMs`
 * passes; then aborts it and waits for it to stop (at most 5 s more). `during` runs on every tick.
 */
async function watch(
  setup: { dbPath: string; feed: string },
  drain: Partial<ApiDrain>,
  done: (log: string[]) => boolean,
  options: { timeoutMs?: number; during?: (abort: () => void) => void } = {},
): Promise<{ log: string[]; warn: string[]; stopMs: number }> {
  const log: string[] = [];
  const warn: string[] = [];
  const controller = new AbortController();
  let abortedAt = Number.NaN;
  const abort = () => {
    if (!controller.signal.aborted) {
      abortedAt = performance.now();
      controller.abort();
    }
  };
  const stopped = ingestWatch({
    dbPath: setup.dbPath,
    feedSource: setup.feed,
    dumpSource: join(scratch(), "never-read.tar.gz"),
    feedEveryMs: 3_600_000,
    dumpEveryMs: 3_600_000,
    signal: controller.signal,
    log: (line) => log.push(line),
    warn: (line) => warn.push(line),
    api: { base: api.url, userAgent: USER_AGENT, everyMs: 10, maxCrates: 100, ...drain },
  });
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  while (!controller.signal.aborted && !done(log) && Date.now() < deadline) {
    options.during?.(abort);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  abort();
  const bounded = await Promise.race([
    stopped.then(() => true),
    new Promise<false>((resolve) => setTimeout(() => resolve(false), 5_000)),
  ]);
  expect(bounded, "ingest watch did not stop within 5 s of the abort").toBe(true);
  return { log, warn, stopMs: performance.now() - abortedAt };
}

const gaps = () => api.requests.slice(1).map((r, k) => r.at - (api.requests[k]?.at ?? 0));
const drained = (crates: number) => (log: string[]) =>
  log.some((line) => line.startsWith(`ingest api: ${crates} queued crates looked up`));

describe("ingest watch: the crates.io API lookup queue", () => {
  it("drains the crates its feed queued and records their publishers, so trust signals hold between dumps", async () => {
    const setup = setUp([FEED[0] as FakeFeedItem]);
    const { log } = await watch(setup, { everyMs: 50 }, drained(1));
    expect(log[0]).toMatch(/; crates\.io API lookups every 50ms \(at most 100 crates a run, 1 request\/s\)$/);
    expect(log).toContain(
      "ingest api: 1 queued crates looked up (2 versions, 2 publishers learned), 0 unknown to crates.io dropped, 0 deferred",
    );
    expect(api.requests.map((r) => [r.path, r.userAgent])).toEqual([
      ["/api/v1/crates/onering/versions", USER_AGENT],
      ["/api/v1/crates/onering/versions?per_page=1&seek=1", USER_AGENT],
    ]);
    expect(databaseContents(setup.dbPath).api_lookups).toEqual([]);
    const database = new TimestampDatabase(setup.dbPath, { readonly: true });
    try {
      expect(database.recordFor("onering")?.trust?.signals.get("1.4.1")).toEqual([
        { signal: "new-publisher", by: "eve", earlier: ["alice"], earlierCount: 1 },
      ]);
    } finally {
      database.close();
    }
  });

  it("keeps its requests a second apart across the whole process, from one bounded run to the next", async () => {
    // One crate a run, runs 10 ms apart: only a pace kept across runs spaces the first request of a run from the
    // last of the one before.
    const setup = setUp(FEED);
    const lookedUp = (log: string[]) => log.filter((line) => line.startsWith("ingest api: 1 queued crates looked up"));
    await watch(setup, { everyMs: 10, maxCrates: 1 }, (log) => lookedUp(log).length >= 3, { timeoutMs: 8_000 });
    expect(api.requests).toHaveLength(4);
    for (const gap of gaps()) expect(gap).toBeGreaterThanOrEqual(990);
  }, 15_000);

  it("waits out a 429's Retry-After before asking again, then records the crate", async () => {
    // 3 s: longer than both the pace (1 s) and the back-off without Retry-After (2 s).
    api.failNext({ status: 429, retryAfter: "3" });
    const setup = setUp([FEED[1] as FakeFeedItem]);
    const { log } = await watch(setup, {}, drained(1), { timeoutMs: 8_000 });
    expect(api.requests.map((r) => r.path)).toEqual([
      "/api/v1/crates/steady/versions",
      "/api/v1/crates/steady/versions",
    ]);
    expect(gaps()[0]).toBeGreaterThanOrEqual(2_990);
    expect(log).toContain(
      "ingest api: 1 queued crates looked up (1 versions, 1 publishers learned), 0 unknown to crates.io dropped, 0 deferred",
    );
    expect(databaseContents(setup.dbPath).api_lookups).toEqual([]);
  }, 15_000);

  it("stops at once when aborted mid-drain, even during a Retry-After wait: nothing partial recorded, the rest queued", async () => {
    const setup = setUp(FEED);
    // The queue as the feed leaves it (the watch's own feed run re-reads the same file and changes nothing in it).
    await ingestFeed({ source: setup.feed, dbPath: setup.dbPath });
    const before = databaseContents(setup.dbPath);
    expect(before.api_lookups).toHaveLength(3);
    let faulted = false;
    const { log, stopMs } = await watch(setup, {}, () => false, {
      timeoutMs: 8_000,
      during: (abort) => {
        // onering's first page has come back: its second page meets a 429 asking for 30 s, and the abort lands in it.
        if (api.requests.length === 1 && !faulted) {
          faulted = true;
          api.failNext({ status: 429, retryAfter: "30" });
        }
        if (api.requests.length === 2) abort();
      },
    });
    expect(api.requests.map((r) => r.path)).toEqual([
      "/api/v1/crates/onering/versions",
      "/api/v1/crates/onering/versions?per_page=1&seek=1",
    ]);
    expect(stopMs).toBeLessThan(1_000);
    expect(log).toContain(
      "ingest api: 0 queued crates looked up (0 versions, 0 publishers learned), 0 unknown to crates.io dropped, 0 deferred; stopped early: interrupted",
    );
    const after = databaseContents(setup.dbPath);
    // onering's first page (1.4.0 by alice) is not recorded; no lookup is marked failed or dropped.
    expect(after.versions).toEqual(before.versions);
    expect(after.api_lookups).toEqual(before.api_lookups);
  }, 15_000);
});
