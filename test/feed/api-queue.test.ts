import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { defaultRules } from "../../src/core/policy.ts";
import { buildStatus } from "../../src/core/status.ts";
import { runApiQueue } from "../../src/feed/api-queue-run.ts";
import { ingestFeed } from "../../src/feed/ingest-feed.ts";
import { apiLookupBacklog } from "../../src/store/api-queue.ts";
import { readFreshness } from "../../src/store/database-freshness.ts";
import { META_KEYS } from "../../src/store/meta-keys.ts";
import { TimestampDatabase } from "../../src/store/timestamp-database.ts";
import { databaseContents, scratch } from "../support/dump-test-kit.ts";
import { type FakeCratesIoApi, startFakeCratesIoApi } from "../support/fake-crates-io-api.ts";
import { renderFeed } from "../support/fake-updates-feed.ts";

// The persistent queue of crates.io API lookups: `ingest feed` fills it with the crates of versions whose publisher
// the database does not know, `ingest api` drains it at one request a second; /-/status shows its backlog.

const NOW = Math.floor(Date.now() / 1000);
const DAY = 86_400;
const USER_AGENT = "crates-cooldown/0.0.0 (+ops@example.com)";

let api: FakeCratesIoApi;
let dbPath: string;
let database: TimestampDatabase;
const sleep = async () => {};

beforeAll(async () => {
  api = await startFakeCratesIoApi();
  api.setCrate("onering", [
    { num: "1.4.0", createdAt: NOW - 60 * DAY, publishedBy: [1, "alice"], trustpub: null },
    { num: "1.4.1", createdAt: NOW - 600, publishedBy: [66, "eve"], trustpub: null },
  ]);
  api.setCrate("steady", [{ num: "2.0.0", createdAt: NOW - 300, publishedBy: [2, "bob"], trustpub: null }]);
});
afterAll(async () => {
  await api?.close();
});

/** A database that holds trust data (as after a dump), fed by the updates feed with three new versions. */
async function fedDatabase(): Promise<void> {
  dbPath = join(scratch(), "t.sqlite");
  database = new TimestampDatabase(dbPath);
  database.setMeta(META_KEYS.trustDataSince, String(NOW - DAY));
  const feed = join(scratch(), "updates.xml");
  writeFileSync(
    feed,
    renderFeed([
      { crate: "onering", version: "1.4.1", publishedAt: NOW - 600 },
      { crate: "steady", version: "2.0.0", publishedAt: NOW - 300 },
      { crate: "gone", version: "0.1.0", publishedAt: NOW - 200 },
    ]),
  );
  await ingestFeed({ source: feed, dbPath });
}

beforeEach(async () => {
  api.requests.length = 0;
  await fedDatabase();
  return () => database.close();
});

describe("the API lookup queue", () => {
  it("is filled by ingest feed with the crates whose new versions have no known publisher, and shown on /-/status", () => {
    const backlog = apiLookupBacklog(database);
    expect(backlog.backlog).toBe(3);
    expect(backlog.oldest).toBeGreaterThan(NOW - 60);
    const status = buildStatus({ version: "9.9.9", home: "node" }, defaultRules(true), readFreshness(database), NOW);
    expect(status.data).toMatchObject({ api_lookups: { backlog: 3 } });
  });

  it("is drained by ingest api: looked up, an unknown crate dropped, nothing left", async () => {
    const summary = await runApiQueue({ database, apiBase: api.url, userAgent: USER_AGENT, sleep });
    expect(summary).toEqual({ looked: 2, versions: 3, publishersLearned: 3, dropped: 1, deferred: 0, stopped: null });
    expect(apiLookupBacklog(database)).toEqual({ backlog: 0, oldest: null });
    expect(database.recordFor("onering")?.trust?.signals.get("1.4.1")).toEqual([
      { signal: "new-publisher", by: "eve", earlier: ["alice"], earlierCount: 1 },
    ]);
  });

  it("stops when crates.io keeps refusing, keeps the rest queued, and resumes once the wait is over", async () => {
    api.failNext({ status: 429, retryAfter: "1" }, { status: 429 }, { status: 503 }, { status: 503 });
    const refused = await runApiQueue({ database, apiBase: api.url, userAgent: USER_AGENT, sleep });
    expect(refused).toMatchObject({ looked: 0, deferred: 1 });
    expect(refused.stopped).toMatch(/answered 503 for \w+ 4 times/);
    expect(apiLookupBacklog(database).backlog).toBe(3);
    // The refused crate waits 5 minutes; the others are due now.
    const resumed = await runApiQueue({ database, apiBase: api.url, userAgent: USER_AGENT, sleep });
    expect(resumed.stopped).toBeNull();
    expect(apiLookupBacklog(database).backlog).toBe(1);
    const later = await runApiQueue({ database, apiBase: api.url, userAgent: USER_AGENT, sleep, now: () => NOW + 301 });
    expect(later.looked + later.dropped).toBe(1);
    expect(apiLookupBacklog(database).backlog).toBe(0);
  });

  it("keeps what an interrupted run did not reach, for the next run", async () => {
    const controller = new AbortController();
    const first = await runApiQueue({
      database,
      apiBase: api.url,
      userAgent: USER_AGENT,
      maxCrates: 3,
      sleep: async () => controller.abort(),
      signal: controller.signal,
    });
    expect(first.stopped).toBe("interrupted");
    expect(apiLookupBacklog(database).backlog).toBeGreaterThan(0);
    await runApiQueue({ database, apiBase: api.url, userAgent: USER_AGENT, sleep });
    expect(apiLookupBacklog(database).backlog).toBe(0);
  });

  it("with a pacer shared across runs, holds the next run off until the last refusal's Retry-After is over", async () => {
    // `ingest watch` keeps one pacer for the process: a run that crates.io stopped with 429 leaves its wait to the next.
    api.failNext({ status: 429 }, { status: 429 }, { status: 429 }, { status: 429, retryAfter: "120" });
    const pacer = { lastRequestAt: Number.NEGATIVE_INFINITY };
    const refused = await runApiQueue({ database, apiBase: api.url, userAgent: USER_AGENT, sleep, pacer });
    expect(refused.stopped).toMatch(/answered 429 for \w+ 4 times/);
    const waits: number[] = [];
    const next = await runApiQueue({
      database,
      apiBase: api.url,
      userAgent: USER_AGENT,
      pacer,
      sleep: async (ms) => void waits.push(ms),
    });
    expect(next.looked + next.dropped).toBe(2);
    expect(waits[0]).toBeGreaterThan(119_000);
    expect(waits[0]).toBeLessThanOrEqual(120_000);
  });

  it("stops at once when aborted in the middle of a Retry-After wait, and records nothing for that crate", async () => {
    api.failNext({ status: 429, retryAfter: "30" });
    const before = databaseContents(dbPath);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const started = performance.now();
    const run = await runApiQueue({
      database,
      apiBase: api.url,
      userAgent: USER_AGENT,
      signal: controller.signal,
    });
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(run).toEqual({
      looked: 0,
      versions: 0,
      publishersLearned: 0,
      dropped: 0,
      deferred: 0,
      stopped: "interrupted",
    });
    expect(databaseContents(dbPath)).toEqual(before);
  });

  it("is not filled while the database holds no trust data (no dump with publishers yet)", async () => {
    const path = join(scratch(), "plain.sqlite");
    new TimestampDatabase(path).close();
    const feed = join(scratch(), "plain.xml");
    writeFileSync(feed, renderFeed([{ crate: "onering", version: "1.4.1", publishedAt: NOW - 600 }]));
    await ingestFeed({ source: feed, dbPath: path });
    const reopened = new TimestampDatabase(path);
    expect(reopened.recordFor("onering")?.versions.size).toBe(1);
    expect(apiLookupBacklog(reopened).backlog).toBe(0);
    reopened.close();
  });
});
