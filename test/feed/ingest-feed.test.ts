import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { formatFeedSummary, ingestFeed } from "../../src/feed/ingest-feed.ts";
import { INGEST_USER_AGENT } from "../../src/node/user-agent.ts";
import { UserError } from "../../src/node/user-error.ts";
import { readFeedGaps } from "../../src/store/feed-gaps.ts";
import { META_KEYS } from "../../src/store/meta-keys.ts";
import { TimestampDatabase } from "../../src/store/timestamp-database.ts";
import { recordedTimes, revisions, scratch } from "../support/dump-test-kit.ts";
import { type FakeUpdatesFeed, startFakeUpdatesFeed } from "../support/fake-updates-feed.ts";

const T = Date.UTC(2026, 10, 22, 12, 0, 0) / 1000;
const MINUTE = 60;

let feeds: FakeUpdatesFeed[] = [];
afterEach(async () => {
  await Promise.all(feeds.map((feed) => feed.close()));
  feeds = [];
});

/** A fake feed whose server clock reads `clock.now`. */
async function feedServer(clock: { now: number }): Promise<FakeUpdatesFeed> {
  const feed = await startFakeUpdatesFeed({ now: () => clock.now, timeoutMs: 60_000, maxRequests: 100 });
  feeds.push(feed);
  return feed;
}

function meta(db: string, key: string): string | null {
  const database = new TimestampDatabase(db);
  try {
    return database.getMeta(key);
  } finally {
    database.close();
  }
}

describe("ingest feed", () => {
  it("records every item of the feed with its pubDate and bumps the changed crates' revisions", async () => {
    const clock = { now: T };
    const feed = await feedServer(clock);
    feed.setItems([
      { crate: "Serde", version: "1.0.200", publishedAt: T - 5 * MINUTE },
      { crate: "tokio", version: "1.40.0", publishedAt: T - 50 * MINUTE },
      { crate: "tokio", version: "1.39.9+hotfix", publishedAt: T - 55 * MINUTE },
    ]);
    const db = join(scratch(), "t.sqlite");
    const summary = await ingestFeed({ source: feed.url, dbPath: db });
    expect(recordedTimes(db)).toEqual({
      serde: { "1.0.200": T - 5 * MINUTE },
      tokio: { "1.40.0": T - 50 * MINUTE, "1.39.9+hotfix": T - 55 * MINUTE },
    });
    expect(Object.keys(revisions(db)).sort()).toEqual(["serde", "tokio"]);
    expect(summary).toMatchObject({
      status: "updated",
      items: 3,
      added: 3,
      changedCrates: 2,
      polledAt: T,
      oldestItem: T - 55 * MINUTE,
      newestItem: T - 5 * MINUTE,
    });
    expect(formatFeedSummary(summary)).toBe(
      "ingest feed: 3 items from 2026-11-22T11:05:00Z to 2026-11-22T11:55:00Z; 3 versions new, 0 moved later, 0 earlier times ignored; 2 crates changed; " +
        `${summary.durationSeconds.toFixed(1)} s`,
    );
    expect(meta(db, META_KEYS.feedLastPoll)).toBe(String(T));
  });

  it("sends a User-Agent naming the project", async () => {
    const clock = { now: T };
    const feed = await feedServer(clock);
    await ingestFeed({ source: feed.url, dbPath: join(scratch(), "t.sqlite") });
    expect(feed.requests[0]?.headers["user-agent"]).toBe(INGEST_USER_AGENT);
  });

  it("sends the stored validators and takes a 304 as a successful poll that changes nothing", async () => {
    const clock = { now: T };
    const feed = await feedServer(clock);
    feed.setItems([{ crate: "serde", version: "1.0.0", publishedAt: T - MINUTE }]);
    const db = join(scratch(), "t.sqlite");
    await ingestFeed({ source: feed.url, dbPath: db });
    const revisionsBefore = revisions(db);

    clock.now = T + 5 * MINUTE;
    const second = await ingestFeed({ source: feed.url, dbPath: db });
    expect(feed.requests.map((r) => r.status)).toEqual([200, 304]);
    expect(feed.requests[1]?.headers["if-none-match"]).toMatch(/^"[0-9a-f]{32}"$/);
    expect(feed.requests[1]?.headers["if-modified-since"]).toBe(new Date(T * 1000).toUTCString());
    expect(second).toMatchObject({ status: "not-modified", added: 0, polledAt: T + 5 * MINUTE });
    expect(formatFeedSummary(second)).toBe(
      "ingest feed: not modified since the last poll (304); polled at 2026-11-22T12:05:00Z",
    );
    expect(revisions(db)).toEqual(revisionsBefore);
    expect(meta(db, META_KEYS.feedLastPoll)).toBe(String(T + 5 * MINUTE));

    // A publish rewrites the feed: a new ETag, so the next poll gets a 200 and the new version.
    clock.now = T + 10 * MINUTE;
    feed.publish({ crate: "serde", version: "1.0.1", publishedAt: T + 9 * MINUTE });
    const third = await ingestFeed({ source: feed.url, dbPath: db });
    expect(third).toMatchObject({ status: "updated", added: 1, gap: null });
    expect(feed.requests.at(-1)?.status).toBe(200);
  });

  it("does not send another source's validators", async () => {
    const clock = { now: T };
    const first = await feedServer(clock);
    const second = await feedServer(clock);
    const db = join(scratch(), "t.sqlite");
    await ingestFeed({ source: first.url, dbPath: db });
    await ingestFeed({ source: second.url, dbPath: db });
    expect(second.requests[0]?.headers["if-none-match"]).toBeUndefined();
  });

  describe("gap reporting", () => {
    it("reports a gap loudly and records it when the previous poll is older than the feed's oldest item", async () => {
      const clock = { now: T };
      const feed = await feedServer(clock);
      feed.setItems([{ crate: "a", version: "1.0.0", publishedAt: T - 10 * MINUTE }]);
      const db = join(scratch(), "t.sqlite");
      await ingestFeed({ source: feed.url, dbPath: db });

      // Two hours without a successful poll; the feed now reaches back only 60 minutes.
      clock.now = T + 120 * MINUTE;
      feed.setItems([
        { crate: "b", version: "1.0.0", publishedAt: T + 61 * MINUTE },
        { crate: "c", version: "1.0.0", publishedAt: T + 119 * MINUTE },
      ]);
      const warnings: string[] = [];
      const summary = await ingestFeed({ source: feed.url, dbPath: db, warn: (line) => warnings.push(line) });
      expect(summary.gap).toEqual({ from: T, to: T + 61 * MINUTE, detectedAt: T + 120 * MINUTE });
      expect(warnings).toEqual([
        "ingest feed: GAP: nothing covers 2026-11-22T12:00:00Z to 2026-11-22T13:01:00Z (the last poll or dump ends before the feed's oldest item); versions published then stay hidden until the next `ingest dump`",
      ]);
      expect(formatFeedSummary(summary)).toContain("GAP 2026-11-22T12:00:00Z to 2026-11-22T13:01:00Z");
      const database = new TimestampDatabase(db);
      expect(readFeedGaps(database)).toEqual([{ from: T, to: T + 61 * MINUTE, detectedAt: T + 120 * MINUTE }]);
      database.close();
      // The items it does carry are recorded all the same.
      expect(Object.keys(recordedTimes(db)).sort()).toEqual(["a", "b", "c"]);
    });

    it("reports no gap when polls overlap the feed's window", async () => {
      const clock = { now: T };
      const feed = await feedServer(clock);
      feed.setItems([{ crate: "a", version: "1.0.0", publishedAt: T - 50 * MINUTE }]);
      const db = join(scratch(), "t.sqlite");
      await ingestFeed({ source: feed.url, dbPath: db });
      clock.now = T + 5 * MINUTE;
      feed.setItems([
        { crate: "a", version: "1.0.0", publishedAt: T - 50 * MINUTE },
        { crate: "b", version: "1.0.0", publishedAt: T + 4 * MINUTE },
      ]);
      const warnings: string[] = [];
      expect((await ingestFeed({ source: feed.url, dbPath: db, warn: (line) => warnings.push(line) })).gap).toBeNull();
      expect(warnings).toEqual([]);
    });

    it("counts a dump's watermark as coverage: no gap when the dump reaches into the feed's window, however old the last poll", async () => {
      const clock = { now: T };
      const feed = await feedServer(clock);
      feed.setItems([{ crate: "a", version: "1.0.0", publishedAt: T - 30 * MINUTE }]);
      const db = join(scratch(), "t.sqlite");
      const database = new TimestampDatabase(db);
      database.setMeta(META_KEYS.dumpWatermark, String(T - 20 * MINUTE));
      database.setMeta(META_KEYS.feedLastPoll, String(T - 600 * MINUTE));
      database.close();
      expect((await ingestFeed({ source: feed.url, dbPath: db })).gap).toBeNull();
    });

    it("warns, without recording a gap, when nothing was ever ingested before", async () => {
      const clock = { now: T };
      const feed = await feedServer(clock);
      feed.setItems([{ crate: "a", version: "1.0.0", publishedAt: T - 30 * MINUTE }]);
      const warnings: string[] = [];
      const summary = await ingestFeed({
        source: feed.url,
        dbPath: join(scratch(), "t.sqlite"),
        warn: (line) => warnings.push(line),
      });
      expect(summary.gap).toBeNull();
      expect(warnings).toEqual([
        "ingest feed: no dump ingested and no earlier poll: versions published before 2026-11-22T11:30:00Z stay hidden until `ingest dump` runs",
      ]);
    });
  });

  describe("fails with one line and changes nothing", () => {
    async function failing(feed: FakeUpdatesFeed, db: string): Promise<string> {
      const error = await ingestFeed({ source: feed.url, dbPath: db }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(UserError);
      expect((error as Error).message).not.toContain("\n");
      return (error as Error).message;
    }

    it("when the server answers 5xx", async () => {
      const clock = { now: T };
      const feed = await feedServer(clock);
      const db = join(scratch(), "t.sqlite");
      feed.failNext(503);
      expect(await failing(feed, db)).toMatch(
        /^cannot fetch the feed http:\/\/127\.0\.0\.1:\d+\/rss\/updates\.xml: the server answered 503$/,
      );
      expect(meta(db, META_KEYS.feedLastPoll)).toBeNull();
    });

    it("when the body is not a feed", async () => {
      const clock = { now: T };
      const feed = await feedServer(clock);
      const db = join(scratch(), "t.sqlite");
      feed.setRawBody("<html><body>Service temporarily unavailable</body></html>");
      expect(await failing(feed, db)).toMatch(/the feed .* is unusable: not an RSS feed/);
      feed.setRawBody("<rss><channel><item></rss>");
      expect(await failing(feed, db)).toMatch(/is unusable: not well-formed XML/);
      expect(meta(db, META_KEYS.feedLastPoll)).toBeNull();
    });

    it("when nothing listens", async () => {
      const clock = { now: T };
      const feed = await feedServer(clock);
      await feed.close();
      expect(await failing(feed, join(scratch(), "t.sqlite"))).toMatch(/cannot fetch the feed .*ECONNREFUSED/);
    });
  });

  it("skips unreadable items with a warning and records the rest", async () => {
    const clock = { now: T };
    const feed = await feedServer(clock);
    feed.setItems([{ crate: "ok", version: "1.0.0", publishedAt: T - MINUTE }]);
    const db = join(scratch(), "t.sqlite");
    const { renderFeed } = await import("../support/fake-updates-feed.ts");
    feed.setRawBody(
      renderFeed([
        { crate: "ok", version: "1.0.0", publishedAt: T - MINUTE },
        { crate: "bad", version: "2.0.0", publishedAt: T - 2 * MINUTE },
      ]).replace(/<pubDate>[^<]*<\/pubDate>(\s*<crates:name>bad)/, "<pubDate>soon</pubDate>$1"),
    );
    const warnings: string[] = [];
    const summary = await ingestFeed({ source: feed.url, dbPath: db, warn: (line) => warnings.push(line) });
    expect(summary).toMatchObject({ items: 1, unreadableItems: 1, added: 1 });
    expect(warnings[0]).toBe('ingest feed: skipped item 2 (bad 2.0.0): pubDate "soon" is not an RFC 2822 date');
  });
});
