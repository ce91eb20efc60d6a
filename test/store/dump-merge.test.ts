import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type DumpCrateView, type DumpView, digestSeedOf, mergeDump } from "../../src/store/dump-merge.ts";
import { META_KEYS } from "../../src/store/meta-keys.ts";
import { TimestampDatabase } from "../../src/store/timestamp-database.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function database(): TimestampDatabase {
  const dir = mkdtempSync(join(tmpdir(), "cc-merge-"));
  dirs.push(dir);
  return new TimestampDatabase(join(dir, "t.sqlite"));
}

/** A dump as plain data; the digest is a plain (unkeyed) content hash, which is all mergeDump compares. */
function dumpOf(
  seed: number,
  watermark: number,
  crates: Record<string, Record<string, number>>,
  deleted: Record<string, number> = {},
): DumpView {
  const names = Object.keys(crates).sort();
  const views: DumpCrateView[] = names.map((crate, index) => ({
    crate,
    index,
    versionCount: Object.keys(crates[crate] ?? {}).length,
    digest: () => {
      let h = seed;
      for (const [version, at] of Object.entries(crates[crate] ?? {}).sort())
        for (const ch of `${version}=${at};`) h = (h * 31 + ch.charCodeAt(0)) % 2 ** 48;
      return h;
    },
    forEachVersion: (visit) => {
      for (const [version, at] of Object.entries(crates[crate] ?? {})) visit(version, at, 1);
    },
    owners: () => [],
  }));
  return {
    digestSeed: seed,
    watermark,
    crates: () => views,
    deletedCrates: new Map(Object.entries(deleted)),
    hasVersionsOf: (crate) => crate in crates,
    crateCount: names.length,
    indexOf: (crate) => names.indexOf(crate),
    accounts: () => [[1, "someone"]],
  };
}

const revisionOf = (db: TimestampDatabase, crate: string) =>
  (db.db.prepare("SELECT revision FROM crate_revisions WHERE crate = ?").get(crate) as { revision: number } | undefined)
    ?.revision;

describe("mergeDump", () => {
  it("inserts every version of crates the database has never seen and bumps each crate once", () => {
    const db = database();
    const seed = digestSeedOf(db);
    const outcome = mergeDump(db, dumpOf(seed, 1000, { a: { "1.0.0": 10, "1.1.0": 20 }, b: { "0.1.0": 30 } }));
    expect(outcome).toEqual({
      added: 3,
      movedLater: 0,
      earlierIgnored: 0,
      forgotten: 0,
      changedCrates: 2,
      unchangedCrates: 0,
      publishersLearned: 3,
      ownersChanged: 0,
      watermark: 1000,
    });
    expect(db.recordFor("a")?.versions).toEqual(
      new Map([
        ["1.0.0", 10],
        ["1.1.0", 20],
      ]),
    );
    expect(db.getMeta(META_KEYS.revision)).toBe("2");
    db.close();
  });

  it("skips a crate whose rows equal those of the last dump without reading them", () => {
    const db = database();
    const seed = digestSeedOf(db);
    const crates = { a: { "1.0.0": 10 }, b: { "0.1.0": 30 } };
    mergeDump(db, dumpOf(seed, 1000, crates));
    let visited = 0;
    const dump = dumpOf(seed, 2000, crates);
    const counting: DumpView = {
      ...dump,
      crates: () =>
        [...dump.crates()].map((view) => ({
          ...view,
          forEachVersion: (visit) => {
            visited++;
            view.forEachVersion(visit);
          },
        })),
    };
    expect(mergeDump(db, counting)).toMatchObject({ added: 0, changedCrates: 0, unchangedCrates: 2, watermark: 2000 });
    expect(visited).toBe(0);
    db.close();
  });

  it("compares a changed crate row by row: new versions added, later times moved, earlier ones counted and ignored", () => {
    const db = database();
    const seed = digestSeedOf(db);
    mergeDump(db, dumpOf(seed, 1000, { a: { "1.0.0": 10, "1.1.0": 20, "1.2.0": 30 } }));
    const before = revisionOf(db, "a") as number;
    const outcome = mergeDump(db, dumpOf(seed, 2000, { a: { "1.0.0": 10, "1.1.0": 25, "1.2.0": 5, "2.0.0": 40 } }));
    expect(outcome).toMatchObject({ added: 1, movedLater: 1, earlierIgnored: 1, changedCrates: 1 });
    expect(db.recordFor("a")?.versions).toEqual(
      new Map([
        ["1.0.0", 10],
        ["1.1.0", 25],
        ["1.2.0", 30],
        ["2.0.0", 40],
      ]),
    );
    expect(revisionOf(db, "a")).toBeGreaterThan(before);
    db.close();
  });

  it("keeps versions the dump does not list (the feed saw them after the snapshot)", () => {
    const db = database();
    db.record([{ crate: "a", version: "9.0.0", publishedAt: 5000 }]);
    mergeDump(db, dumpOf(digestSeedOf(db), 1000, { a: { "1.0.0": 10 } }));
    expect(db.recordFor("a")?.versions).toEqual(
      new Map([
        ["1.0.0", 10],
        ["9.0.0", 5000],
      ]),
    );
    db.close();
  });

  it("forgets a deleted crate's versions from before its deletion, keeps later ones and the ones the dump lists", () => {
    const db = database();
    db.record([
      { crate: "x", version: "0.1.0", publishedAt: 100 },
      { crate: "x", version: "0.2.0", publishedAt: 200 },
      { crate: "x", version: "0.3.0", publishedAt: 900 },
      { crate: "y", version: "1.0.0", publishedAt: 100 },
    ]);
    const before = revisionOf(db, "x") as number;
    const outcome = mergeDump(db, dumpOf(digestSeedOf(db), 1000, { y: { "1.0.0": 100 } }, { x: 500, y: 150 }));
    // x lost two versions; y's one version gained its publisher (the feed had recorded only its time).
    expect(outcome).toMatchObject({ forgotten: 2, changedCrates: 2, publishersLearned: 1 });
    expect(db.recordFor("x")?.versions).toEqual(new Map([["0.3.0", 900]]));
    expect(db.recordFor("y")?.versions).toEqual(new Map([["1.0.0", 100]]));
    expect(revisionOf(db, "x")).toBeGreaterThan(before);
    db.close();
  });

  it("applies all or nothing: an error before commit leaves every table as it was", () => {
    const db = database();
    const seed = digestSeedOf(db);
    mergeDump(db, dumpOf(seed, 1000, { a: { "1.0.0": 10 } }));
    const snapshot = () => ({
      versions: db.db.prepare("SELECT * FROM versions").all(),
      revisions: db.db.prepare("SELECT * FROM crate_revisions").all(),
      digests: db.db.prepare("SELECT * FROM dump_digests").all(),
      meta: db.db.prepare("SELECT * FROM meta ORDER BY key").all(),
    });
    const before = snapshot();
    expect(() =>
      mergeDump(db, dumpOf(seed, 2000, { a: { "1.0.0": 10, "1.1.0": 20 }, b: { "0.1.0": 1 } }), {
        beforeCommit: () => {
          throw new Error("disk full");
        },
      }),
    ).toThrow("disk full");
    expect(snapshot()).toEqual(before);
    db.close();
  });

  it("refuses digests computed with another key than the stored one", () => {
    const db = database();
    const seed = digestSeedOf(db);
    mergeDump(db, dumpOf(seed, 1000, { a: { "1.0.0": 1 } }));
    expect(() => mergeDump(db, dumpOf(seed + 1, 1000, { a: { "1.0.0": 1 } }))).toThrow(/another database's key/);
    db.close();
  });

  it("writes every row of a dump bigger than one batch, whole batches and the rest (versions, owners, digests)", () => {
    const db = database();
    const seed = digestSeedOf(db);
    // 150 crates of 0–4 versions (300 rows: four whole batches of 64 and 44), 1–2 owners each (225), 120 digests.
    const names = Array.from({ length: 150 }, (_, i) => `crate-${String(i).padStart(3, "0")}`);
    const versionsOf = (i: number) =>
      Array.from({ length: i % 5 }, (_, v) => ({
        version: `${v}.${i}.0`,
        at: 1000 + i * 10 + v,
        by: (i + v) % 3 === 0 ? -1 : i + v,
      }));
    const ownersOf = (i: number) => [
      { owner: `user-${i}`, addedAt: 500 + i },
      ...(i % 2 === 0 ? [{ owner: `github:org:team-${i}`, addedAt: 600 + i }] : []),
    ];
    const withVersions = names.map((_, i) => i).filter((i) => i % 5 !== 0);
    const views: DumpCrateView[] = withVersions.map((i, index) => ({
      crate: names[i] as string,
      index,
      versionCount: versionsOf(i).length,
      digest: () => i * 1_000_003,
      forEachVersion: (visit) => {
        for (const { version, at, by } of versionsOf(i)) visit(version, at, by);
      },
      owners: () => ownersOf(i),
    }));
    const crateNames = withVersions.map((i) => names[i] as string);
    const dump: DumpView = {
      digestSeed: seed,
      watermark: 2_000_000_000,
      crates: () => views,
      deletedCrates: new Map(),
      hasVersionsOf: (crate) => crateNames.includes(crate),
      crateCount: crateNames.length,
      indexOf: (crate) => crateNames.indexOf(crate),
      accounts: () => [],
    };
    const outcome = mergeDump(db, dump);
    expect(outcome).toMatchObject({ added: 300, changedCrates: 120, ownersChanged: 120 });
    const expectedVersions = withVersions.flatMap((i) =>
      versionsOf(i).map(({ version, at, by }) => ({
        crate: names[i] as string,
        version,
        published_at: at,
        publish_via: by >= 0 ? 0 : 2,
        publisher_id: by >= 0 ? by : null,
      })),
    );
    const byKey = (a: { crate: string; version?: string; owner?: string }, b: typeof a) =>
      a.crate < b.crate ? -1 : a.crate > b.crate ? 1 : `${a.version ?? a.owner}` < `${b.version ?? b.owner}` ? -1 : 1;
    expect(
      db.db
        .prepare("SELECT crate, version, published_at, publish_via, publisher_id FROM versions ORDER BY crate, version")
        .all(),
    ).toEqual(expectedVersions.sort(byKey));
    expect(db.db.prepare("SELECT crate, owner, added_at FROM crate_owners ORDER BY crate, owner").all()).toEqual(
      withVersions
        .flatMap((i) =>
          ownersOf(i).map(({ owner, addedAt }) => ({ crate: names[i] as string, owner, added_at: addedAt })),
        )
        .sort(byKey),
    );
    expect(db.db.prepare("SELECT crate, digest FROM dump_digests ORDER BY crate").all()).toEqual(
      withVersions.map((i) => ({ crate: names[i], digest: i * 1_000_003 })),
    );
    // The same dump again: every digest matches, nothing is written.
    expect(mergeDump(db, dump)).toMatchObject({ added: 0, changedCrates: 0, unchangedCrates: 120 });
    db.close();
  });

  it("stores the digest key with the first dump's rows, and keeps it", () => {
    const db = database();
    const seed = digestSeedOf(db);
    expect(db.getMeta(META_KEYS.dumpDigestSeed)).toBeNull();
    mergeDump(db, dumpOf(seed, 1000, { a: { "1.0.0": 1 } }));
    expect(db.getMeta(META_KEYS.dumpDigestSeed)).toBe(String(seed));
    expect(digestSeedOf(db)).toBe(seed);
    db.close();
  });
});
