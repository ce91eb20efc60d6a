import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { formatDumpSummary, ingestDump } from "../../src/dump/ingest-dump.ts";
import { ingestFeed } from "../../src/feed/ingest-feed.ts";
import { INGEST_USER_AGENT } from "../../src/node/user-agent.ts";
import { UserError } from "../../src/node/user-error.ts";
import { readFeedGaps, recordFeedGap } from "../../src/store/feed-gaps.ts";
import { META_KEYS } from "../../src/store/meta-keys.ts";
import { TimestampDatabase } from "../../src/store/timestamp-database.ts";
import {
  type DumpContent,
  type DumpLayout,
  postgresTime,
  truncateArchive,
  writeDumpArchive,
} from "../support/dump-generator.ts";
import {
  BASE_CRATES,
  BASE_TIMES,
  BASE_VERSIONS,
  baseDump,
  DAY,
  databaseContents,
  recordedTimes,
  revisions,
  SNAPSHOT_AT,
  scratch,
  T,
} from "../support/dump-test-kit.ts";
import { renderFeed } from "../support/fake-updates-feed.ts";
import { serveFileOnLoopback } from "../support/loopback-file-server.ts";

async function dumpFile(content: DumpContent = baseDump(), layout: DumpLayout = {}): Promise<string> {
  const path = join(scratch(), "db-dump.tar.gz");
  await writeDumpArchive(path, content, layout);
  return path;
}

function dbPath(): string {
  return join(scratch(), "data", "timestamps.sqlite");
}

/** Ingests and expects a one-line UserError; returns its message. */
async function failure(source: string, db: string): Promise<string> {
  const error = await ingestDump({ source, dbPath: db }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UserError);
  const message = (error as UserError).message;
  expect(message).not.toContain("\n");
  expect(message).toMatch(/; the database was not changed$/);
  return message;
}

describe("ingest dump", () => {
  it("records every version's created_at truncated to whole seconds, under the lowercased crate name", async () => {
    const db = dbPath();
    const summary = await ingestDump({ source: await dumpFile(), dbPath: db });
    expect(recordedTimes(db)).toEqual(BASE_TIMES);
    expect(summary).toMatchObject({
      crates: 3,
      versions: 5,
      yankedVersions: 1,
      rowsRead: 8,
      added: 5,
      movedLater: 0,
      earlierIgnored: 0,
      changedCrates: 3,
      unchangedCrates: 0,
      folder: "2026-11-21-020017",
      snapshotAt: T,
    });
    expect(formatDumpSummary(summary)).toMatch(
      /^ingest dump: snapshot 2026-11-21T02:00:17Z \(2026-11-21-020017\); 8 rows read \(3 crates, 5 versions, 0 deleted crates\); 5 versions new, 0 moved later, 0 earlier times ignored, 0 forgotten; 3 crates changed, 0 unchanged; .* in [\d.]+ s/,
    );
  });

  it("records the snapshot's metadata.json timestamp as the watermark, and the run's summary", async () => {
    const db = dbPath();
    await ingestDump({ source: await dumpFile(), dbPath: db });
    const database = new TimestampDatabase(db);
    expect(database.getMeta(META_KEYS.dumpWatermark)).toBe(String(T));
    expect(JSON.parse(database.getMeta(META_KEYS.dumpLastRun) ?? "{}")).toMatchObject({ added: 5, snapshotAt: T });
    database.close();
  });

  it("finds columns by header name when the dump shuffles them and adds columns it does not know", async () => {
    const plain = dbPath();
    const shuffled = dbPath();
    await ingestDump({ source: await dumpFile(), dbPath: plain });
    await ingestDump({
      source: await dumpFile(baseDump(), { shuffleColumnsSeed: 42, extraColumns: true }),
      dbPath: shuffled,
    });
    expect(recordedTimes(shuffled)).toEqual(recordedTimes(plain));
  });

  it("does not depend on crates.csv coming before versions.csv", async () => {
    const db = dbPath();
    await ingestDump({ source: await dumpFile(baseDump(), { versionsFirst: true }), dbPath: db });
    expect(recordedTimes(db)).toEqual(BASE_TIMES);
  });

  it("reads multi-line quoted READMEs with quotes, commas and CRLFs in crates.csv without losing a crate", async () => {
    const crates = Array.from({ length: 50 }, (_, i) => ({
      id: 100 + i,
      name: `readme-${i}`,
      readme: `line one, "${i}"\r\n\n"""quoted"""\nlast,`,
    }));
    const versions = crates.map((c, i) => ({
      id: 1000 + i,
      crateId: c.id,
      num: "1.0.0",
      createdAt: postgresTime(T - i * 60, i % 7, 0.25),
    }));
    const db = dbPath();
    const summary = await ingestDump({
      source: await dumpFile({ timestamp: SNAPSHOT_AT, crates, versions }),
      dbPath: db,
    });
    expect(summary.crates).toBe(50);
    expect(Object.keys(recordedTimes(db))).toHaveLength(50);
    expect(recordedTimes(db)["readme-49"]).toEqual({ "1.0.0": T - 49 * 60 });
  });

  describe("leaves the database exactly as it was, exits with one line saying what was wrong", () => {
    async function ingestedDatabase(): Promise<{ db: string; before: Record<string, unknown[]> }> {
      const db = dbPath();
      await ingestDump({ source: await dumpFile(), dbPath: db });
      return { db, before: databaseContents(db) };
    }
    /** A second dump that would change things, so "unchanged" is meaningful. */
    const changedDump = () =>
      baseDump({
        crates: [...BASE_CRATES, { id: 9, name: "newcomer" }],
        versions: [...BASE_VERSIONS, { id: 20, crateId: 9, num: "0.1.0", createdAt: postgresTime(T - DAY) }],
      });

    it("when the very first ingest fails: no rows and no bookkeeping, only empty tables", async () => {
      const db = dbPath();
      const path = await dumpFile(changedDump());
      truncateArchive(path, Math.floor(statSync(path).size * 0.6));
      await failure(path, db);
      expect(Object.values(databaseContents(db)).every((rows) => rows.length === 0)).toBe(true);
    });

    it("when the gzip stream is truncated", async () => {
      const { db, before } = await ingestedDatabase();
      const path = await dumpFile(changedDump());
      truncateArchive(path, Math.floor(statSync(path).size * 0.6));
      expect(await failure(path, db)).toMatch(/the archive ends early \(truncated download\?\)/);
      expect(databaseContents(db)).toEqual(before);
    });

    it("when only the gzip trailer is missing (every row was read)", async () => {
      const { db, before } = await ingestedDatabase();
      const path = await dumpFile(changedDump());
      truncateArchive(path, statSync(path).size - 4);
      expect(await failure(path, db)).toMatch(/ends early/);
      expect(databaseContents(db)).toEqual(before);
    });

    it("when the gzip data is corrupt", async () => {
      const { db, before } = await ingestedDatabase();
      const path = await dumpFile(changedDump());
      const bytes = readFileSync(path);
      for (let i = 200; i < 400; i++) bytes[i] = (bytes[i] as number) ^ 0x5a;
      writeFileSync(path, bytes);
      expect(await failure(path, db)).toMatch(/not valid gzip|not a valid tar|ends early/);
      expect(databaseContents(db)).toEqual(before);
    });

    it("when the file is not gzip at all", async () => {
      const { db, before } = await ingestedDatabase();
      const path = join(scratch(), "page.html");
      writeFileSync(path, "<html>maintenance</html>\n");
      expect(await failure(path, db)).toMatch(/not valid gzip \(incorrect header check\)/);
      expect(databaseContents(db)).toEqual(before);
    });

    it("when the gzip holds something other than a tar", async () => {
      const { db, before } = await ingestedDatabase();
      const path = join(scratch(), "not-a-tar.gz");
      writeFileSync(path, gzipSync(Buffer.alloc(4096, 0x41)));
      expect(await failure(path, db)).toMatch(/not a valid tar file/);
      expect(databaseContents(db)).toEqual(before);
    });

    it.each([
      ["versions", "created_at", /data\/versions\.csv has no "created_at" column \(its columns: .*\)/],
      ["versions", "num", /data\/versions\.csv has no "num" column/],
      ["versions", "crate_id", /has no "crate_id" column/],
      ["crates", "name", /data\/crates\.csv has no "name" column/],
      ["deleted_crates", "deleted_at", /data\/deleted_crates\.csv has no "deleted_at" column/],
      ["versions", "published_by", /data\/versions\.csv has no "published_by" column/],
      ["users", "gh_login", /data\/users\.csv has no "gh_login" column/],
      ["crate_owners", "owner_kind", /data\/crate_owners\.csv has no "owner_kind" column/],
    ] as const)("when %s.csv has no %s column", async (table, column, message) => {
      const { db, before } = await ingestedDatabase();
      expect(await failure(await dumpFile(changedDump(), { dropColumns: { [table]: [column] } }), db)).toMatch(message);
      expect(databaseContents(db)).toEqual(before);
    });

    it.each(["data/versions.csv", "data/crates.csv", "metadata.json", "data/users.csv", "data/crate_owners.csv"])(
      "when %s is missing",
      async (file) => {
        const { db, before } = await ingestedDatabase();
        expect(await failure(await dumpFile(changedDump(), { omitFiles: [file] }), db)).toContain(
          `the archive has no ${file}`,
        );
        expect(databaseContents(db)).toEqual(before);
      },
    );

    it.each([
      ["an impossible date", "2026-02-30 10:00:00+00"],
      ["a time in words", "yesterday"],
      ["seven fraction digits", "2026-11-20 10:00:00.1234567+00"],
      ["an ISO 8601 T", "2026-11-20T10:00:00+00"],
      ["an empty value", ""],
    ])("when a created_at is %s", async (_what, createdAt) => {
      const { db, before } = await ingestedDatabase();
      const versions = [...BASE_VERSIONS, { id: 30, crateId: 1, num: "9.9.9", createdAt }];
      const message = await failure(await dumpFile(baseDump({ versions })), db);
      expect(message).toContain(
        `data/versions.csv record 6: created_at "${createdAt}" is not a time (expected YYYY-MM-DD hh:mm:ss`,
      );
      expect(databaseContents(db)).toEqual(before);
    });

    it("when metadata.json has no timestamp", async () => {
      const { db, before } = await ingestedDatabase();
      expect(await failure(await dumpFile(changedDump(), { metadataJson: '{"crates_io_commit":"abc"}' }), db)).toMatch(
        /metadata\.json has no RFC 3339 "timestamp"/,
      );
      expect(databaseContents(db)).toEqual(before);
    });

    it("when the download stops half-way (connection dropped after the announced Content-Length was promised)", async () => {
      const { db, before } = await ingestedDatabase();
      const path = await dumpFile(changedDump());
      const server = await serveFileOnLoopback(path, { cutAfterBytes: Math.floor(statSync(path).size / 2) });
      try {
        expect(await failure(server.url, db)).toMatch(/reading the dump failed|ends early/);
      } finally {
        await server.close();
      }
      expect(databaseContents(db)).toEqual(before);
    });

    it("when the server answers an error status", async () => {
      const { db, before } = await ingestedDatabase();
      const server = await serveFileOnLoopback(await dumpFile(), { status: 404 });
      try {
        expect(await failure(server.url, db)).toMatch(
          /cannot download the dump from http:\/\/127\.0\.0\.1:\d+\/db-dump\.tar\.gz: the server answered 404/,
        );
      } finally {
        await server.close();
      }
      expect(databaseContents(db)).toEqual(before);
    });

    it("when the path does not exist", async () => {
      const { db, before } = await ingestedDatabase();
      expect(await failure(join(scratch(), "nowhere.tar.gz"), db)).toMatch(
        /cannot read the dump .*nowhere\.tar\.gz: ENOENT/,
      );
      expect(databaseContents(db)).toEqual(before);
    });
  });

  it("downloads over HTTP with a User-Agent naming the project and its version", async () => {
    const server = await serveFileOnLoopback(await dumpFile());
    const db = dbPath();
    try {
      await ingestDump({ source: server.url, dbPath: db });
    } finally {
      await server.close();
    }
    expect(recordedTimes(db)).toEqual(BASE_TIMES);
    expect(server.requests[0]?.["user-agent"]).toBe(INGEST_USER_AGENT);
    expect(INGEST_USER_AGENT).toMatch(/^crates-cooldown\/\d+\.\d+\.\d+\S*( \(\+\S.*\))?$/);
  });

  describe("re-ingesting", () => {
    it("an identical dump changes nothing and bumps no revision", async () => {
      const db = dbPath();
      const path = await dumpFile();
      await ingestDump({ source: path, dbPath: db });
      const before = databaseContents(db);
      const again = await ingestDump({ source: path, dbPath: db });
      expect(again).toMatchObject({
        added: 0,
        movedLater: 0,
        earlierIgnored: 0,
        forgotten: 0,
        changedCrates: 0,
        unchangedCrates: 3,
      });
      const after = databaseContents(db);
      // Only the run's own bookkeeping differs.
      const withoutLastRun = (contents: Record<string, unknown[]>) => ({
        ...contents,
        meta: (contents.meta as { key: string }[]).filter((row) => row.key !== META_KEYS.dumpLastRun),
      });
      expect(withoutLastRun(after)).toEqual(withoutLastRun(before));
    });

    it("a dump with one new version bumps only that crate's revision", async () => {
      const db = dbPath();
      await ingestDump({ source: await dumpFile(), dbPath: db });
      const before = revisions(db);
      const summary = await ingestDump({
        source: await dumpFile(
          baseDump({
            versions: [...BASE_VERSIONS, { id: 40, crateId: 7, num: "0.9.0", createdAt: postgresTime(T - DAY) }],
          }),
        ),
        dbPath: db,
      });
      expect(summary).toMatchObject({ added: 1, changedCrates: 1, unchangedCrates: 2 });
      const after = revisions(db);
      expect(after.rand).toBeGreaterThan(before.rand as number);
      expect({ ...after, rand: 0 }).toEqual({ ...before, rand: 0 });
    });
  });

  describe("never moves a recorded time earlier", () => {
    it("keeps the later time when the dump says a version is older than recorded, and counts it", async () => {
      const db = dbPath();
      const database = new TimestampDatabase(db);
      database.record([{ crate: "serde", version: "1.0.0", publishedAt: T - DAY }]);
      database.close();
      const summary = await ingestDump({ source: await dumpFile(), dbPath: db });
      expect(summary.earlierIgnored).toBe(1);
      expect(recordedTimes(db).serde?.["1.0.0"]).toBe(T - DAY);
    });

    it("moves a time later when a dump says so, and counts it", async () => {
      const db = dbPath();
      await ingestDump({ source: await dumpFile(), dbPath: db });
      const later = BASE_VERSIONS.map((v) => (v.id === 12 ? { ...v, createdAt: postgresTime(T - 5 * DAY) } : v));
      const summary = await ingestDump({ source: await dumpFile(baseDump({ versions: later })), dbPath: db });
      expect(summary).toMatchObject({ movedLater: 1, changedCrates: 1 });
      expect(recordedTimes(db).tokio?.["0.1.0"]).toBe(T - 5 * DAY);
    });

    it("ignores a feed that reports an earlier time after the dump, and a dump that reports an earlier time after the feed", async () => {
      const dir = scratch();
      const feedFile = join(dir, "updates.xml");
      const db = dbPath();
      await ingestDump({ source: await dumpFile(), dbPath: db });
      writeFileSync(feedFile, renderFeed([{ crate: "serde", version: "1.0.0", publishedAt: T - 31 * DAY }]));
      const fromFeed = await ingestFeed({ source: feedFile, dbPath: db });
      expect(fromFeed).toMatchObject({ added: 0, earlierIgnored: 1 });
      expect(recordedTimes(db).serde?.["1.0.0"]).toBe(T - 30 * DAY);

      const other = dbPath();
      writeFileSync(feedFile, renderFeed([{ crate: "tokio", version: "0.1.0", publishedAt: T - 19 * DAY }]));
      await ingestFeed({ source: feedFile, dbPath: other });
      const fromDump = await ingestDump({ source: await dumpFile(), dbPath: other });
      expect(fromDump.earlierIgnored).toBe(1);
      expect(recordedTimes(other).tokio?.["0.1.0"]).toBe(T - 19 * DAY);
    });

    it("does not move the watermark back when an older dump is applied after a newer one", async () => {
      const db = dbPath();
      await ingestDump({ source: await dumpFile(), dbPath: db });
      await ingestDump({ source: await dumpFile(baseDump({ timestamp: new Date((T - DAY) * 1000) })), dbPath: db });
      const database = new TimestampDatabase(db);
      expect(database.getMeta(META_KEYS.dumpWatermark)).toBe(String(T));
      database.close();
    });
  });

  describe("deleted crates", () => {
    it("forgets the versions of a deleted crate, so a re-registered name starts unknown, and bumps its revision", async () => {
      const db = dbPath();
      const gone = { id: 50, name: "gone" };
      await ingestDump({
        source: await dumpFile(
          baseDump({
            crates: [...BASE_CRATES, gone],
            versions: [...BASE_VERSIONS, { id: 60, crateId: 50, num: "0.1.0", createdAt: postgresTime(T - 100 * DAY) }],
          }),
        ),
        dbPath: db,
      });
      expect(recordedTimes(db).gone).toEqual({ "0.1.0": T - 100 * DAY });
      const before = revisions(db);

      const deletedCrates = [
        { id: 1, name: "gone", createdAt: postgresTime(T - 100 * DAY), deletedAt: postgresTime(T - 3 * DAY, 6, 0.5) },
      ];
      const summary = await ingestDump({ source: await dumpFile(baseDump({ deletedCrates })), dbPath: db });
      expect(summary).toMatchObject({ forgotten: 1, changedCrates: 1, deletedCrates: 1 });
      expect(recordedTimes(db).gone).toBeUndefined();
      expect(revisions(db).gone).toBeGreaterThan(before.gone as number);

      // Re-registered by someone else: the same version number, published after the deletion.
      const again = await ingestDump({
        source: await dumpFile(
          baseDump({
            deletedCrates,
            crates: [...BASE_CRATES, { id: 51, name: "gone" }],
            versions: [...BASE_VERSIONS, { id: 70, crateId: 51, num: "0.1.0", createdAt: postgresTime(T - DAY) }],
          }),
        ),
        dbPath: db,
      });
      expect(again).toMatchObject({ added: 1, forgotten: 0 });
      expect(recordedTimes(db).gone).toEqual({ "0.1.0": T - DAY });
    });

    it("keeps versions the feed recorded after the deletion (a new owner's releases)", async () => {
      const db = dbPath();
      const database = new TimestampDatabase(db);
      database.record([
        { crate: "reborn", version: "0.1.0", publishedAt: T - 50 * DAY },
        { crate: "reborn", version: "0.2.0", publishedAt: T - DAY },
      ]);
      database.close();
      const deletedCrates = [
        { id: 1, name: "Reborn", createdAt: postgresTime(T - 60 * DAY), deletedAt: postgresTime(T - 10 * DAY) },
      ];
      const summary = await ingestDump({ source: await dumpFile(baseDump({ deletedCrates })), dbPath: db });
      expect(summary.forgotten).toBe(1);
      expect(recordedTimes(db).reborn).toEqual({ "0.2.0": T - DAY });
    });

    it("forgets nothing on the next ingest of the same deletions", async () => {
      const db = dbPath();
      const deletedCrates = [
        { id: 1, name: "gone", createdAt: postgresTime(T - 100 * DAY), deletedAt: postgresTime(T - 3 * DAY) },
      ];
      const path = await dumpFile(baseDump({ deletedCrates }));
      await ingestDump({ source: path, dbPath: db });
      expect(await ingestDump({ source: path, dbPath: db })).toMatchObject({ forgotten: 0, changedCrates: 0 });
    });
  });

  it("keys crates by lowercased name: names differing only in case are one crate, non-ASCII lowercases as in JS", async () => {
    const db = dbPath();
    const summary = await ingestDump({
      source: await dumpFile({
        timestamp: SNAPSHOT_AT,
        crates: [
          { id: 1, name: "Foo_Bar" },
          { id: 2, name: "foo_bar" },
          { id: 3, name: "\u00c9t\u00e9" },
        ],
        versions: [
          { id: 1, crateId: 1, num: "1.0.0", createdAt: postgresTime(T - 3 * DAY) },
          { id: 2, crateId: 2, num: "2.0.0", createdAt: postgresTime(T - 2 * DAY) },
          { id: 3, crateId: 3, num: "0.1.0", createdAt: postgresTime(T - DAY) },
        ],
      }),
      dbPath: db,
    });
    expect(summary.crates).toBe(2);
    expect(recordedTimes(db)).toEqual({
      foo_bar: { "1.0.0": T - 3 * DAY, "2.0.0": T - 2 * DAY },
      "\u00e9t\u00e9": { "0.1.0": T - DAY },
    });
  });

  it("skips versions whose crate_id is not in crates.csv and counts them", async () => {
    const db = dbPath();
    const summary = await ingestDump({
      source: await dumpFile(
        baseDump({ versions: [...BASE_VERSIONS, { id: 90, crateId: 999, num: "1.0.0", createdAt: postgresTime(T) }] }),
      ),
      dbPath: db,
    });
    expect(summary.orphanVersions).toBe(1);
    expect(formatDumpSummary(summary)).toContain("1 versions of unknown crates skipped");
    expect(recordedTimes(db)).toEqual(BASE_TIMES);
  });

  it("closes the feed gaps the dump covers", async () => {
    const db = dbPath();
    const database = new TimestampDatabase(db);
    recordFeedGap(database, { from: T - 2 * DAY, to: T - DAY, detectedAt: T - DAY });
    recordFeedGap(database, { from: T - 3600, to: T + 3600, detectedAt: T + 3600 });
    database.close();
    const summary = await ingestDump({ source: await dumpFile(), dbPath: db });
    expect(summary.gapsClosed).toBe(1);
    const after = new TimestampDatabase(db);
    expect(readFeedGaps(after)).toEqual([{ from: T, to: T + 3600, detectedAt: T + 3600 }]);
    after.close();
  });
});
