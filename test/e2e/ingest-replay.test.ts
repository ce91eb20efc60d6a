import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import semver from "semver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeFreshness, FRESHNESS_KV_KEY } from "../../src/core/freshness.ts";
import { scanIndexFile } from "../../src/core/index-file.ts";
import { filterIndexFile } from "../../src/core/index-filter.ts";
import { defaultRules } from "../../src/core/policy.ts";
import { decodeCrateRecord } from "../../src/core/publish-times.ts";
import { ingestDump } from "../../src/dump/ingest-dump.ts";
import { exportKvStore } from "../../src/kv/kv-export.ts";
import { type RunningCooldownServer, startCooldownServer } from "../../src/server/start-server.ts";
import { META_KEYS } from "../../src/store/meta-keys.ts";
import { TimestampDatabase } from "../../src/store/timestamp-database.ts";
import { CargoProject, cargoVersion, createCargoHome, describeRun } from "../support/cargo-project.ts";
import { CORPUS_2020_ARCHIVE, readCorpus2020, sharedFixturesPresent } from "../support/corpus-2020.ts";
import { type DumpCrate, type DumpVersion, postgresTime, writeDumpArchive } from "../support/dump-generator.ts";
import { type FakeCratesIo, startFakeCratesIo } from "../support/fake-crates-io.ts";
import { windowOf } from "../support/window-of.ts";

/**
 * A replay of real publishing: the crates.io index of 2020-03-25 and its last five months of publish events, shifted
 * so the fixture's end is now. A dump built from it goes through `ingest dump`; then each window must hide exactly the
 * versions younger than it (checked against the database for hundreds of crates), and real cargo, resolving through
 * the Node proxy an upstream copy of the index that has no `pubtime` at all, must lock exactly what each window allows.
 */

const EVENTS = join(dirname(CORPUS_2020_ARCHIVE), "events.csv");
const FIXTURE_PRESENT = sharedFixturesPresent("test/e2e/ingest-replay.test.ts", [CORPUS_2020_ARCHIVE, EVENTS]);

const FIXTURE_END = Date.parse("2020-03-25T20:09:32Z") / 1000;
/** Every index version without a `publish` event was published before this (the fixture's README). */
const EVENTS_START = Date.parse("2019-10-17T14:49:00Z") / 1000;
const WINDOWS = ["12h", "1d", "3d", "7d", "14d", "30d"].map((label) => windowOf(label));

interface ReplayVersion {
  readonly vers: string;
  readonly yanked: boolean;
  /** Shifted publish time, whole seconds. */
  readonly at: number;
}

interface ReplayCrate {
  readonly name: string;
  readonly path: string;
  readonly text: string;
  readonly versions: readonly ReplayVersion[];
}

const CARGO = cargoVersion();

describe.skipIf(!FIXTURE_PRESENT)(
  "replaying crates.io's 2019-10 … 2020-03 publishing through `ingest dump`",
  { timeout: 300_000 },
  () => {
    const now = Math.floor(Date.now() / 1000);
    const shift = now - FIXTURE_END;
    let scratch: string;
    let dbPath: string;
    const crates = new Map<string, ReplayCrate>();

    beforeAll(async () => {
      scratch = mkdtempSync(join(tmpdir(), "cc-replay-"));
      dbPath = join(scratch, "timestamps.sqlite");
      const published = new Map<string, number>();
      for (const line of readFileSync(EVENTS, "utf8").split("\n").slice(1)) {
        const [time, event, crate, version] = line.split(",");
        if (event === "publish" && crate !== undefined && version !== undefined)
          published.set(`${crate.toLowerCase()} ${version}`, Date.parse(time as string) / 1000);
      }
      for await (const file of readCorpus2020()) {
        const lines = file.text.split("\n").filter((l) => l.trim() !== "");
        const parsed = lines.map((l) => JSON.parse(l) as { name: string; vers: string; yanked: boolean });
        const name = (parsed[0] as { name: string }).name;
        const versions = parsed.map((entry) => ({
          vers: entry.vers,
          yanked: entry.yanked,
          at: (published.get(`${name.toLowerCase()} ${entry.vers}`) ?? EVENTS_START - 86_400) + shift,
        }));
        crates.set(name.toLowerCase(), { name, path: file.path, text: file.text, versions });
      }

      const cratesRows: DumpCrate[] = [];
      const versionRows: DumpVersion[] = [];
      let crateId = 0;
      let versionId = 0;
      for (const c of crates.values()) {
        cratesRows.push({ id: ++crateId, name: c.name, readme: null });
        for (const v of c.versions) {
          versionId++;
          // created_at carries microseconds; the index pubtime (and so the database) is it truncated.
          versionRows.push({
            id: versionId,
            crateId,
            num: v.vers,
            createdAt: postgresTime(v.at, versionId % 7, 0.999),
            yanked: v.yanked,
          });
        }
      }
      const archive = join(scratch, "db-dump.tar.gz");
      await writeDumpArchive(
        archive,
        { timestamp: new Date(now * 1000), crates: cratesRows, versions: versionRows },
        { gzipLevel: 1 },
      );
      const summary = await ingestDump({ source: archive, dbPath });
      expect(summary).toMatchObject({ crates: crates.size, versions: versionRows.length, added: versionRows.length });
    });

    afterAll(() => {
      if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
    });

    it("records every version of the real index with its shifted publish time", () => {
      const db = new TimestampDatabase(dbPath);
      try {
        const wrong: string[] = [];
        let checked = 0;
        for (const [key, c] of crates) {
          const record = db.recordFor(key);
          for (const v of c.versions) {
            checked++;
            if (record?.versions.get(v.vers) !== v.at)
              wrong.push(`${key} ${v.vers}: ${record?.versions.get(v.vers)} ≠ ${v.at}`);
          }
        }
        expect(checked).toBe(220_008);
        expect(wrong.slice(0, 10)).toEqual([]);
      } finally {
        db.close();
      }
    });

    it("exports, with kv export, a local KV file holding exactly the database's record of every crate", () => {
      const db = new TimestampDatabase(dbPath);
      try {
        const out = join(scratch, "local-kv-store.json");
        exportKvStore(db, out);
        const file = JSON.parse(readFileSync(out, "utf8")) as Record<string, string>;
        const crateKeys = Object.keys(file).filter((key) => !key.startsWith("_"));
        expect(crateKeys.length).toBe(crates.size);
        const wrong: string[] = [];
        for (const key of crateKeys) {
          const record = decodeCrateRecord(file[key] as string);
          const expected = db.recordFor(key);
          if (
            record.crate !== key ||
            JSON.stringify([...record.versions].sort()) !== JSON.stringify([...(expected?.versions ?? [])].sort())
          )
            wrong.push(key);
        }
        expect(wrong.slice(0, 10)).toEqual([]);
        expect(decodeFreshness(file[FRESHNESS_KV_KEY] as string).dumpWatermark).toBe(
          Number(db.getMeta(META_KEYS.dumpWatermark)),
        );
      } finally {
        db.close();
      }
    });

    it("hides, under each window, exactly the versions younger than it (and the yanked ones) — for every recently active crate and a sample of the rest", () => {
      const db = new TimestampDatabase(dbPath);
      try {
        const rules = defaultRules(false);
        const recent = [...crates.entries()].filter(([, c]) => c.versions.some((v) => now - v.at < 31 * 86_400));
        const rest = [...crates.entries()]
          .filter(([, c]) => !c.versions.some((v) => now - v.at < 31 * 86_400))
          .filter((_, i) => i % 97 === 0);
        expect(recent.length).toBeGreaterThan(500);
        const mismatches: string[] = [];
        const hiddenTooYoung: Record<string, number> = {};
        for (const [key, c] of [...recent, ...rest]) {
          const scanned = scanIndexFile(c.text);
          for (const window of WINDOWS) {
            const filtered = filterIndexFile(key, scanned, db.recordFor(key), window, now, rules);
            const shown = scanned.lines.filter((_, i) => filtered.verdicts[i]?.visible).map((line) => line.version);
            const expected = c.versions.filter((v) => !v.yanked && v.at + window.seconds <= now).map((v) => v.vers);
            if (JSON.stringify(shown) !== JSON.stringify(expected))
              mismatches.push(`${key} /${window.label}/: shown ${shown.join(" ")} expected ${expected.join(" ")}`);
            hiddenTooYoung[window.label] = (hiddenTooYoung[window.label] ?? 0) + filtered.hidden["too-young"];
          }
        }
        expect(mismatches.slice(0, 10)).toEqual([]);
        // Real data, real spread: every window hides something, and a longer window hides more.
        const counts = WINDOWS.map((w) => hiddenTooYoung[w.label] as number);
        expect(counts[0]).toBeGreaterThan(0);
        expect([...counts].sort((a, b) => a - b)).toEqual(counts);
      } finally {
        db.close();
      }
    });

    describe.skipIf(CARGO === null)(
      `real cargo (${CARGO ?? "absent"}) through the Node proxy, upstream without pubtime`,
      () => {
        let fake: FakeCratesIo;
        let proxy: RunningCooldownServer;
        let cargoHome: string;
        const projects: CargoProject[] = [];
        /** Crates whose newest lockable version differs between /3d/, /7d/ and /30d/. */
        let chosen: { key: string; picks: Record<string, string> }[] = [];
        const CARGO_WINDOWS = ["3d", "7d", "30d"];

        /** What `name = "*"` locks: the highest non-yanked, non-prerelease version the window shows. */
        const pick = (c: ReplayCrate, seconds: number) =>
          semver.maxSatisfying(
            c.versions.filter((v) => !v.yanked && v.at + seconds <= now).map((v) => v.vers),
            "*",
          );

        beforeAll(async () => {
          for (const [key, c] of crates) {
            if (!/^[a-z][a-z0-9_-]*$/.test(key) || c.versions.length > 60) continue;
            const picks = Object.fromEntries(CARGO_WINDOWS.map((label) => [label, pick(c, windowOf(label).seconds)]));
            if (Object.values(picks).some((p) => p === null) || new Set(Object.values(picks)).size < 3) continue;
            chosen.push({ key, picks: picks as Record<string, string> });
            if (chosen.length === 3) break;
          }
          chosen = chosen.slice(0, 3);
          fake = await startFakeCratesIo({ servePubtime: false, timeoutMs: 240_000, maxRequests: 5_000 });
          for (const { key } of chosen) {
            const c = crates.get(key) as ReplayCrate;
            for (const v of [...c.versions].sort((a, b) => a.at - b.at))
              await fake.publish({ name: key, vers: v.vers, yanked: v.yanked });
          }
          proxy = await startCooldownServer({ listen: "127.0.0.1:0", upstream: fake.url, dbPath, quiet: true });
          cargoHome = createCargoHome();
        });

        afterAll(async () => {
          for (const project of projects) project.dispose();
          await proxy?.close();
          await fake?.close();
          if (cargoHome !== undefined) rmSync(cargoHome, { recursive: true, force: true });
        });

        it("finds real crates whose lockable version differs between windows", () => {
          expect(chosen.length).toBeGreaterThanOrEqual(1);
          for (const { key } of chosen) expect(fake.indexFile(key)).not.toMatch(/pubtime/);
        });

        it("locks, under each window, the newest version the replayed times allow", async () => {
          for (const { key, picks } of chosen) {
            for (const window of CARGO_WINDOWS) {
              const project = new CargoProject({
                registry: `${proxy.url}${window}/`,
                dependencies: { [key]: "*" },
                cargoHome,
              });
              projects.push(project);
              const run = await project.generateLockfile();
              expect(run.code, describeRun(run)).toBe(0);
              expect(`${key} /${window}/ ${project.lockedVersion(key)}`).toBe(`${key} /${window}/ ${picks[window]}`);
            }
          }
        });
      },
    );
  },
);
