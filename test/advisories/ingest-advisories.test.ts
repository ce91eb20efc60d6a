import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ingestAdvisories } from "../../src/advisories/ingest-advisories.ts";
import { decodeCrateRecord, encodeCrateRecord } from "../../src/core/publish-times.ts";
import { allCrateRecords } from "../../src/store/crate-records.ts";
import { META_KEYS } from "../../src/store/meta-keys.ts";
import { TimestampDatabase } from "../../src/store/timestamp-database.ts";
import { CliProcess } from "../server/cli-process.ts";
import { type GeneratedAdvisory, writeAdvisoryDbFolder } from "../support/advisory-db-generator.ts";
import { scratch } from "../support/scratch.ts";

const RUSTLS: GeneratedAdvisory = { id: "RUSTSEC-2026-0042", package: "rustls", patched: [">= 0.23.18"] };
const WITHDRAWN: GeneratedAdvisory = {
  id: "RUSTSEC-2026-0043",
  package: "hyper",
  patched: [">= 1.0.1"],
  withdrawn: "2026-11-21",
};

function setUp() {
  const dir = scratch();
  const db = new TimestampDatabase(join(dir, "timestamps.sqlite"));
  db.record([{ crate: "rustls", version: "0.23.17", publishedAt: 1_700_000_000 }]);
  return { dir, db };
}
const revisionOf = (db: TimestampDatabase, crate: string) =>
  (db.db.prepare("SELECT revision FROM crate_revisions WHERE crate = ?").get(crate) as { revision: number } | undefined)
    ?.revision;

describe("ingest advisories", () => {
  it("puts each crate's advisories that are not withdrawn into its record, and marks it for the next push", async () => {
    const { dir, db } = setUp();
    const before = revisionOf(db, "rustls") as number;
    const summary = await ingestAdvisories(
      db,
      writeAdvisoryDbFolder(join(dir, "adb"), [RUSTLS, WITHDRAWN]),
      1_800_000_000,
    );
    expect(summary).toMatchObject({ total: 2, added: 2, changed: 0, removed: 0, changedCrates: 2 });
    expect(db.recordFor("rustls")).toEqual({
      crate: "rustls",
      versions: new Map([["0.23.17", 1_700_000_000]]),
      advisories: [{ id: "RUSTSEC-2026-0042", patched: [">= 0.23.18"] }],
    });
    expect(db.recordFor("hyper")).toBeNull();
    expect(revisionOf(db, "rustls")).toBeGreaterThan(before);
    expect(db.getMeta(META_KEYS.advisoriesSynced)).toBe("1800000000");
    db.close();
  });

  it("changes nothing, and marks nothing, when synced again from the same database", async () => {
    const { dir, db } = setUp();
    const source = writeAdvisoryDbFolder(join(dir, "adb"), [RUSTLS]);
    await ingestAdvisories(db, source);
    const revision = revisionOf(db, "rustls");
    expect(await ingestAdvisories(db, source)).toMatchObject({ added: 0, changed: 0, removed: 0, changedCrates: 0 });
    expect(revisionOf(db, "rustls")).toBe(revision);
    db.close();
  });

  it("follows edits, withdrawals and removals in the advisory database", async () => {
    const { dir, db } = setUp();
    await ingestAdvisories(db, writeAdvisoryDbFolder(join(dir, "one"), [RUSTLS]));
    expect(
      await ingestAdvisories(db, writeAdvisoryDbFolder(join(dir, "two"), [{ ...RUSTLS, withdrawn: "2026-11-22" }])),
    ).toMatchObject({ changed: 1, changedCrates: 1 });
    expect(db.recordFor("rustls")?.advisories).toBeUndefined();
    expect(await ingestAdvisories(db, writeAdvisoryDbFolder(join(dir, "three"), [WITHDRAWN]))).toMatchObject({
      added: 1,
      removed: 1,
      changedCrates: 2,
    });
    db.close();
  });

  it("sends records with advisories to KV in format version 2, readable by the edge's codec", async () => {
    const { dir, db } = setUp();
    await ingestAdvisories(db, writeAdvisoryDbFolder(join(dir, "adb"), [RUSTLS]));
    const records = [...allCrateRecords(db)].map(({ record }) => encodeCrateRecord(record));
    expect(records.map((text) => JSON.parse(text).v)).toEqual([2]);
    expect(decodeCrateRecord(records[0] as string).advisories).toEqual([
      { id: "RUSTSEC-2026-0042", patched: [">= 0.23.18"] },
    ]);
    db.close();
  });

  it("runs from the CLI, printing a summary, and refuses a source that is not the advisory database", async () => {
    const dir = scratch();
    const db = join(dir, "timestamps.sqlite");
    const ok = CliProcess.run([
      "ingest",
      "advisories",
      "--source",
      writeAdvisoryDbFolder(join(dir, "adb"), [RUSTLS, WITHDRAWN]),
      "--db",
      db,
    ]);
    expect((await ok.exited).code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe(
      "ingest advisories: 2 advisories (2 new, 0 changed, 0 removed), 2 crates to push, 0 unreadable\n",
    );
    const bad = CliProcess.run(["ingest", "advisories", "--source", dir, "--db", db]);
    expect((await bad.exited).code).toBe(1);
    expect(bad.stderr).toMatch(/^error: .*has no crates\/ folder.*\n$/);
  });
});
