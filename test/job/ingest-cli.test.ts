import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { queueApiLookups } from "../../src/store/api-queue.ts";
import { META_KEYS } from "../../src/store/meta-keys.ts";
import { TimestampDatabase } from "../../src/store/timestamp-database.ts";
import { writeAdvisoryDbFolder } from "../support/advisory-db-generator.ts";
import { type CliRun, runCli } from "../support/cli-run.ts";
import { truncateArchive, writeDumpArchive } from "../support/dump-generator.ts";
import { BASE_TIMES, baseDump, databaseContents, recordedTimes, scratch } from "../support/dump-test-kit.ts";
import { startFakeCratesIoApi } from "../support/fake-crates-io-api.ts";
import { type FakeUpdatesFeed, renderFeed, startFakeUpdatesFeed } from "../support/fake-updates-feed.ts";

const feeds: FakeUpdatesFeed[] = [];
afterEach(async () => {
  await Promise.all(feeds.splice(0).map((feed) => feed.close()));
});

/**
 * `node bin/crates-cooldown.js …args`, with `until` deciding (from the output so far) when to send SIGTERM. No
 * CRATES_COOLDOWN_CONTACT unless `contact` gives one, so no run reaches crates.io's real API.
 */
function cli(
  args: readonly string[],
  options: { until?: (stdout: string) => boolean; timeoutMs?: number; contact?: string } = {},
): Promise<CliRun> {
  const { CRATES_COOLDOWN_CONTACT: _, ...env } = process.env;
  const { contact, ...rest } = options;
  return runCli(args, {
    ...rest,
    env: { ...env, NO_COLOR: "1", ...(contact === undefined ? {} : { CRATES_COOLDOWN_CONTACT: contact }) },
  });
}

async function dumpFile(): Promise<string> {
  const path = join(scratch(), "db-dump.tar.gz");
  await writeDumpArchive(path, baseDump());
  return path;
}

describe("crates-cooldown ingest (the CLI)", () => {
  it("`ingest dump` applies a dump from a path and prints a one-line summary on stdout", async () => {
    const db = join(scratch(), "t.sqlite");
    const run = await cli(["ingest", "dump", "--source", await dumpFile(), "--db", db, "--quiet"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe("");
    expect(run.stdout).toMatch(/^ingest dump: snapshot 2026-11-21T02:00:17Z \(2026-11-21-020017\); 8 rows read .*\n$/);
    expect(recordedTimes(db)).toEqual(BASE_TIMES);
  });

  it("`ingest dump` writes progress as log lines on stderr when stderr is not a terminal", async () => {
    const run = await cli(["ingest", "dump", "--source", await dumpFile(), "--db", join(scratch(), "t.sqlite")]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^ingest dump: reading [\d.]+ kB\n/);
    expect(run.stderr).toContain("ingest dump: applying 5 versions of 3 crates in one transaction\n");
  });

  it("`ingest dump` of a truncated download exits 1 with one line on stderr and leaves the database as it was", async () => {
    const db = join(scratch(), "t.sqlite");
    const good = await dumpFile();
    expect((await cli(["ingest", "dump", "--source", good, "--db", db, "--quiet"])).code).toBe(0);
    const before = databaseContents(db);
    const cut = await dumpFile();
    truncateArchive(cut, Math.floor(statSync(cut).size / 2));
    const run = await cli(["ingest", "dump", "--source", cut, "--db", db, "--quiet"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(
      /^error: dump \S+: the archive ends early \(truncated download\?\): gzip stream incomplete; the database was not changed\n$/,
    );
    expect(databaseContents(db)).toEqual(before);
  });

  it("`ingest feed` polls the feed and prints a one-line summary; a failing feed exits 1 with one line", async () => {
    const feed = await startFakeUpdatesFeed({ timeoutMs: 60_000 });
    feeds.push(feed);
    const now = Math.floor(Date.now() / 1000);
    feed.setItems([{ crate: "serde", version: "1.0.0", publishedAt: now - 60 }]);
    const db = join(scratch(), "t.sqlite");
    const ok = await cli(["ingest", "feed", "--source", feed.url, "--db", db]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^ingest feed: 1 items from .*; 1 versions new, .*\n$/);

    feed.failNext(500);
    const failed = await cli(["ingest", "feed", "--source", feed.url, "--db", db]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(
      /^error: cannot fetch the feed http:\/\/127\.0\.0\.1:\d+\/rss\/updates\.xml: the server answered 500\n$/,
    );
  });

  it("`ingest watch` runs the feed and the dump on schedule and stops cleanly on SIGTERM", async () => {
    const feed = await startFakeUpdatesFeed({ timeoutMs: 60_000 });
    feeds.push(feed);
    feed.setItems([{ crate: "fresh", version: "0.1.0", publishedAt: Math.floor(Date.now() / 1000) - 60 }]);
    feed.failNext(503);
    const db = join(scratch(), "t.sqlite");
    const run = await cli(
      [
        "ingest",
        "watch",
        "--feed-every",
        "1s",
        "--dump-every",
        "1h",
        "--feed-source",
        feed.url,
        "--dump-source",
        await dumpFile(),
        "--advisories-every",
        "1h",
        "--advisories-source",
        writeAdvisoryDbFolder(join(scratch(), "advisory-db"), [
          { id: "RUSTSEC-2026-0001", package: "fresh", patched: [">= 0.1.0"] },
        ]),
        "--db",
        db,
      ],
      {
        until: (stdout) =>
          stdout.includes("ingest dump: snapshot") &&
          stdout.includes("ingest feed: 1 items") &&
          stdout.includes("ingest advisories: 1 advisories"),
      },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /^ingest watch: feed every 1s, dump every 1h \(next dump in 0ms\); database .*; advisories every 1h; crates\.io API lookups off \(no CRATES_COOLDOWN_CONTACT\)\n/,
    );
    expect(run.stdout).toMatch(/ingest watch: stopped\n$/);
    // The first poll met a 503: one line, then a retry after the back-off.
    expect(run.stderr).toMatch(
      /ingest watch: feed failed \(1 in a row\): cannot fetch the feed .*: the server answered 503; next try in \d+(ms|s)\n/,
    );
    expect(recordedTimes(db)).toMatchObject({ ...BASE_TIMES, fresh: { "0.1.0": expect.any(Number) } });
    // The test dump is a fixed snapshot at least a day old: the feed cannot reach back that far, and says so.
    expect(run.stderr).toContain("ingest feed: GAP: nothing covers 2026-11-21T02:00:17Z to ");
  });

  it("`ingest watch` without CRATES_COOLDOWN_CONTACT still runs its other jobs, says once that the API lookup queue is not drained, and leaves it queued", async () => {
    const feed = await startFakeUpdatesFeed({ timeoutMs: 60_000 });
    feeds.push(feed);
    feed.setItems([{ crate: "fresh", version: "0.1.0", publishedAt: Math.floor(Date.now() / 1000) - 60 }]);
    const db = join(scratch(), "t.sqlite");
    // The dump brings trust data first, so the feed queues the crate of its new version for a lookup.
    expect((await cli(["ingest", "dump", "--source", await dumpFile(), "--db", db, "--quiet"])).code).toBe(0);
    const args = ["ingest", "watch", "--feed-every", "1h", "--dump-every", "1h", "--feed-source", feed.url];
    args.push("--no-advisories", "--db", db);
    const run = await cli(args, { until: (stdout) => stdout.includes("ingest feed: 1 items") });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^ingest watch: .*; crates\.io API lookups off \(no CRATES_COOLDOWN_CONTACT\)\n/);
    const warning =
      "ingest watch: warning: the crates.io API lookup queue is not drained: CRATES_COOLDOWN_CONTACT is not set (crates.io's API refuses clients without a contact), so versions the feed brings have no known publisher (their trust signals unknown: fail closed) until the next dump; set it to a URL or e-mail address, or pass --no-api\n";
    expect(run.stderr.startsWith(warning), run.stderr).toBe(true);
    expect(run.stderr.split(warning)).toHaveLength(2);
    // Queued by the feed, not looked up.
    expect(databaseContents(db).api_lookups).toMatchObject([{ crate: "fresh", attempts: 0 }]);

    // --no-api: the same, without the warning.
    const quiet = await cli([...args, "--no-api"], {
      until: (stdout) => stdout.includes("ingest feed:"),
    });
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stdout).toMatch(/^ingest watch: .*; crates\.io API lookups off \(--no-api\)\n/);
    expect(quiet.stderr).not.toContain("warning");
  });

  it("`ingest watch` refuses --api… flags without CRATES_COOLDOWN_CONTACT (exit 2), and with one drains the queue through --api", async () => {
    const api = await startFakeCratesIoApi();
    try {
      api.setCrate("steady", [
        { num: "2.0.0", createdAt: Math.floor(Date.now() / 1000) - 300, publishedBy: [2, "bob"], trustpub: null },
      ]);
      const dir = scratch();
      const db = join(dir, "t.sqlite");
      const database = new TimestampDatabase(db);
      database.setMeta(META_KEYS.trustDataSince, String(Math.floor(Date.now() / 1000) - 86_400));
      database.setMeta(META_KEYS.dumpLastRun, JSON.stringify({ finishedAt: Math.floor(Date.now() / 1000) }));
      queueApiLookups(database, ["steady"], Math.floor(Date.now() / 1000));
      database.close();
      const feedFile = join(dir, "updates.xml");
      writeFileSync(feedFile, renderFeed([]));
      const args = ["ingest", "watch", "--feed-source", feedFile, "--no-advisories", "--db", db];

      const refused = await cli([...args, "--api", api.url, "--api-every", "10s"]);
      expect(refused.code).toBe(2);
      expect(refused.stdout).toBe("");
      expect(refused.stderr).toBe(
        "error: --api, --api-every: set CRATES_COOLDOWN_CONTACT to a URL or e-mail address, crates.io's API refuses clients without a contact (or pass --no-api)\n",
      );
      expect(api.requests).toEqual([]);

      const run = await cli([...args, "--api", api.url, "--api-every", "10s", "--api-max-crates", "5"], {
        contact: "ops@example.com",
        until: (stdout) => stdout.includes("ingest api: 1 queued"),
      });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(
        /^ingest watch: .*; crates\.io API lookups every 10s \(at most 5 crates a run, 1 request\/s\)\n/,
      );
      expect(run.stdout).toContain(
        "ingest api: 1 queued crates looked up (1 versions, 1 publishers learned), 0 unknown to crates.io dropped, 0 deferred\n",
      );
      expect(api.requests.map((r) => r.userAgent)).toEqual([
        expect.stringMatching(/^crates-cooldown\/\S+ \(\+ops@example\.com\)$/),
      ]);
      expect(databaseContents(db).api_lookups).toEqual([]);
    } finally {
      await api.close();
    }
  });

  it("`ingest watch` refuses an unreadable interval with one line", async () => {
    const run = await cli(["ingest", "watch", "--feed-every", "5 minutes", "--db", join(scratch(), "t.sqlite")]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      'error: --feed-every "5 minutes" is not a duration; expected a number with a unit (ms, s, m, h, d), or several: 30s, 5m, 24h, 1h30m\n',
    );
  });
});
