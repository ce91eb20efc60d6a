import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatDumpSummary, ingestDump } from "../../src/dump/ingest-dump.ts";
import { TimestampDatabase } from "../../src/store/timestamp-database.ts";
import { type DumpContent, postgresTime, writeDumpArchive } from "../support/dump-generator.ts";
import { DAY, scratch } from "../support/dump-test-kit.ts";

/** Times relative to the real clock: records leave out versions too old for a signal to matter (TRUST_RELEVANCE). */
const T = Math.floor(Date.now() / 1000) - 3_600;
const SNAPSHOT_AT = new Date(T * 1000);

/**
 * The trust signals' data from the dump: versions.published_by, users.csv, teams.csv and crate_owners.csv, read in
 * the same pass as the publish times.
 */

const ALICE = 11;
const BOB = 12;
const EVE = 66;
const TEAM = 3;

function trustDump(overrides: Partial<DumpContent> = {}): DumpContent {
  return {
    timestamp: SNAPSHOT_AT,
    crates: [
      { id: 1, name: "Serde" },
      { id: 2, name: "onering" },
      { id: 3, name: "fresh" },
    ],
    users: [
      { id: ALICE, login: "alice" },
      { id: BOB, login: "bob" },
      { id: EVE, login: "eve" },
    ],
    teams: [{ id: TEAM, login: "github:evil:maintainers" }],
    crateOwners: [
      { crateId: 1, ownerId: ALICE, createdAt: postgresTime(T - 400 * DAY - 60) },
      { crateId: 1, ownerId: BOB, createdAt: postgresTime(T - 200 * DAY) },
      { crateId: 2, ownerId: ALICE, createdAt: postgresTime(T - 100 * DAY - 60) },
      { crateId: 2, ownerId: TEAM, ownerKind: 1, createdAt: postgresTime(T - 12 * DAY) },
      { crateId: 3, ownerId: EVE, createdAt: postgresTime(T - 5 * DAY - 60) },
    ],
    versions: [
      // serde: alice, then bob (a new publisher, but added as owner 100 days earlier: not recent), then alice.
      { id: 1, crateId: 1, num: "1.0.0", createdAt: postgresTime(T - 400 * DAY), publishedBy: ALICE },
      { id: 2, crateId: 1, num: "1.0.1", createdAt: postgresTime(T - 100 * DAY), publishedBy: BOB },
      { id: 3, crateId: 1, num: "1.0.2", createdAt: postgresTime(T - 20 * DAY), publishedBy: ALICE },
      // onering: alice, then trusted publishing (no account, after 2025-05), then eve with a token, 10 days after a
      // team was added as owner.
      { id: 4, crateId: 2, num: "1.4.0", createdAt: postgresTime(T - 100 * DAY), publishedBy: ALICE },
      { id: 5, crateId: 2, num: "1.4.1", createdAt: postgresTime(T - 50 * DAY), publishedBy: null },
      { id: 6, crateId: 2, num: "1.4.2", createdAt: postgresTime(T - 2 * DAY), publishedBy: EVE },
      // fresh: one version, exempt.
      { id: 7, crateId: 3, num: "0.1.0", createdAt: postgresTime(T - 5 * DAY), publishedBy: EVE },
    ],
    ...overrides,
  };
}

async function ingest(content: DumpContent, db: string) {
  const path = join(scratch(), "db-dump.tar.gz");
  await writeDumpArchive(path, content);
  return ingestDump({ source: path, dbPath: db });
}

describe("ingest dump: publishers and owners", () => {
  it("gives every crate's record its trust signals, with logins from users.csv and teams.csv", async () => {
    const db = join(scratch(), "t.sqlite");
    const summary = await ingest(trustDump(), db);
    expect(summary).toMatchObject({ publishersLearned: 7, ownersChanged: 3 });
    expect(formatDumpSummary(summary)).toContain("7 publishers learned, owners of 3 crates changed");
    const database = new TimestampDatabase(db, { readonly: true });
    try {
      const serde = database.recordFor("serde")?.trust;
      expect(serde?.unknown.size).toBe(0);
      expect([...(serde?.signals ?? [])]).toEqual([
        ["1.0.1", [{ signal: "new-publisher", by: "bob", earlier: ["alice"], earlierCount: 1 }]],
      ]);
      const onering = database.recordFor("onering")?.trust;
      expect(onering?.signals.get("1.4.1")).toBeUndefined();
      expect(onering?.signals.get("1.4.2")).toEqual([
        { signal: "new-publisher", by: "eve", earlier: ["alice"], earlierCount: 1 },
        { signal: "trusted-publishing-downgrade", by: "eve", previous: "1.4.1", via: null },
        { signal: "recent-owner", owner: "github:evil:maintainers", addedAt: T - 12 * DAY },
      ]);
      expect(database.recordFor("fresh")?.trust).toEqual({ unknown: new Set(), signals: new Map() });
    } finally {
      database.close();
    }
  });

  it("takes a version without published_by from before 2025-05 as published without an account, not trusted", async () => {
    const db = join(scratch(), "t.sqlite");
    await ingest(
      trustDump({
        versions: [
          { id: 4, crateId: 2, num: "0.1.0", createdAt: "2016-01-01 00:00:00+00", publishedBy: null },
          { id: 5, crateId: 2, num: "0.2.0", createdAt: "2017-01-01 00:00:00+00", publishedBy: null },
          { id: 6, crateId: 2, num: "1.0.0", createdAt: postgresTime(T - 2 * DAY), publishedBy: ALICE },
        ],
        crateOwners: [{ crateId: 2, ownerId: ALICE, createdAt: "2015-12-31 00:00:00+00" }],
      }),
      db,
    );
    const database = new TimestampDatabase(db, { readonly: true });
    // No downgrade (nothing used trusted publishing), no new publisher (no earlier release by a known account).
    expect(database.recordFor("onering")?.trust?.signals.size).toBe(0);
    database.close();
  });

  it("leaves out of records the versions too old for any signal to change their visibility", async () => {
    const db = join(scratch(), "t.sqlite");
    await ingest(
      trustDump({
        versions: [
          { id: 1, crateId: 1, num: "1.0.0", createdAt: postgresTime(T - 400 * DAY), publishedBy: ALICE },
          { id: 2, crateId: 1, num: "1.0.1", createdAt: postgresTime(T - 121 * DAY), publishedBy: BOB },
          { id: 3, crateId: 1, num: "1.0.2", createdAt: postgresTime(T - 119 * DAY), publishedBy: EVE },
        ],
      }),
      db,
    );
    const database = new TimestampDatabase(db, { readonly: true });
    // 1.0.1 (121 days old) is visible under the longest window plus the longest extra wait anyway.
    expect([...(database.recordFor("serde")?.trust?.signals.keys() ?? [])]).toEqual(["1.0.2"]);
    database.close();
  });

  it("re-merges a crate whose owners alone changed, and nothing when the dump is the same", async () => {
    const db = join(scratch(), "t.sqlite");
    await ingest(trustDump(), db);
    const again = await ingest(trustDump(), db);
    expect(again).toMatchObject({ changedCrates: 0, publishersLearned: 0, ownersChanged: 0 });
    const owners = [...(trustDump().crateOwners as Iterable<never>)];
    const changed = await ingest(
      trustDump({
        crateOwners: [...owners, { crateId: 1, ownerId: EVE, createdAt: postgresTime(T - 25 * DAY) }],
      }),
      db,
    );
    expect(changed).toMatchObject({ changedCrates: 1, ownersChanged: 1, unchangedCrates: 2 });
    const database = new TimestampDatabase(db, { readonly: true });
    expect(database.recordFor("serde")?.trust?.signals.get("1.0.2")).toEqual([
      { signal: "recent-owner", owner: "eve", addedAt: T - 25 * DAY },
    ]);
    database.close();
  });

  it("leaves versions learned from the feed alone unknown until a dump (or the API) says who published them", async () => {
    const db = join(scratch(), "t.sqlite");
    await ingest(trustDump(), db);
    const database = new TimestampDatabase(db);
    database.record([{ crate: "serde", version: "1.0.3", publishedAt: T + 60 }]);
    expect([...(database.recordFor("serde")?.trust?.unknown ?? [])]).toEqual(["1.0.3"]);
    database.close();
  });

  it("gives records no trust section before any dump brought publishers: no signal is checked then", () => {
    const database = new TimestampDatabase(join(scratch(), "t.sqlite"));
    database.record([{ crate: "serde", version: "1.0.0", publishedAt: T }]);
    expect(database.recordFor("serde")).toEqual({ crate: "serde", versions: new Map([["1.0.0", T]]) });
    database.close();
  });
});
