import { statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { writeAdvisoryDbFolder } from "../support/advisory-db-generator.ts";
import { type CliRun, runCli } from "../support/cli-run.ts";
import { truncateArchive, writeDumpArchive } from "../support/dump-generator.ts";
import { BASE_TIMES, baseDump, databaseContents, recordedTimes, scratch } from "../support/dump-test-kit.ts";
import { type FakeUpdatesFeed, startFakeUpdatesFeed } from "../support/fake-updates-feed.ts";

const feeds: FakeUpdatesFeed[] = [];
afterEach(async () => {
  await Promise.all(feeds.splice(0).map((feed) => feed.close()));
});

/** `node bin/crates-cooldown.js …args`, with `until` deciding (from the output so far) when to send SIGTERM. */
function cli(
  args: readonly string[],
  options: { until?: (stdout: string) => boolean; timeoutMs?: number } = {},
): Promise<CliRun> {
  return runCli(args, { ...options, env: { ...process.env, NO_COLOR: "1" } });
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
      /^ingest watch: feed every 1s, dump every 1h \(next dump in 0ms\); database .*; advisories every 1h\n/,
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

  it("`ingest watch` refuses an unreadable interval with one line", async () => {
    const run = await cli(["ingest", "watch", "--feed-every", "5 minutes", "--db", join(scratch(), "t.sqlite")]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      'error: --feed-every "5 minutes" is not a duration; expected a number with a unit (ms, s, m, h, d), or several: 30s, 5m, 24h, 1h30m\n',
    );
  });
});
