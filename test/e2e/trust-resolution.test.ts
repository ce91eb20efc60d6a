import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_POLICY } from "../../src/core/policy-document.ts";
import { HOMES, type RunningHome, startHome } from "../contract/homes.ts";
import { CargoProject, cargoVersion, describeRun } from "../support/cargo-project.ts";
import { daysAgo, type FakeCratesIo, startFakeCratesIo } from "../support/fake-crates-io.ts";

const CARGO = cargoVersion();
if (CARGO === null && process.env.CI === "true")
  throw new Error("cargo is not on PATH: in CI the end-to-end proof must run");
if (CARGO === null) console.warn("skipping test/e2e/trust-resolution.test.ts: cargo is not on PATH");

const DAY = 86_400;
const SERVER_LIFETIME_MS = 180_000;

// Real cargo through each home deciding as for crates.io: a release by an account that never published the crate
// before stays hidden 7 days past the window (`[trust] new-publisher`), then resolves. Publishers are recorded in the
// home's timestamp database as `ingest dump` records them (at the edge: the KV records `kv export` writes).
describe.skipIf(CARGO === null)("real cargo and trust signals", { timeout: 120_000 }, () => {
  let fake: FakeCratesIo;

  beforeAll(async () => {
    fake = await startFakeCratesIo({ timeoutMs: SERVER_LIFETIME_MS });
    await fake.publish({ name: "steady", vers: "1.0.0", pubtime: daysAgo(40) });
    // Nine days old: past the 7-day window, inside the 7 extra days of a new publisher.
    await fake.publish({ name: "steady", vers: "1.1.0", pubtime: daysAgo(9) });
  });

  afterAll(async () => {
    await fake?.close();
  });

  describe.each(HOMES)("in the %s home", (kind) => {
    let home: RunningHome;
    const projects: CargoProject[] = [];
    let clockOffset = 0;
    const now = () => Math.floor(Date.now() / 1000) + clockOffset;

    beforeAll(async () => {
      home = await startHome(kind, {
        upstream: fake.url,
        clock: now,
        policy: DEFAULT_POLICY,
        lifetimeMs: SERVER_LIFETIME_MS,
        settings: { cratesIoRules: true },
      });
      home.recordTimes([
        { crate: "steady", version: "1.0.0", publishedAt: daysAgo(40) },
        { crate: "steady", version: "1.1.0", publishedAt: daysAgo(9) },
      ]);
      home.recordProvenance(
        [
          { crate: "steady", version: "1.0.0", via: "token", publisherId: 1, publisher: "alice" },
          { crate: "steady", version: "1.1.0", via: "token", publisherId: 66, publisher: "eve" },
        ],
        new Map([["steady", [{ owner: "alice", addedAt: daysAgo(41) }]]]),
      );
    });

    afterAll(async () => {
      for (const project of projects) project.dispose();
      await home?.close();
    });

    const project = (dependencies: Record<string, string>) => {
      const created = new CargoProject({ registry: `${home.url}7d/`, dependencies });
      projects.push(created);
      return created;
    };

    it("keeps a new publisher's release out of resolution past the window, and resolves it once the extra wait is over", async () => {
      const held = project({ steady: "1" });
      const first = await held.generateLockfile();
      expect(first.code, describeRun(first)).toBe(0);
      expect(held.lockedVersion("steady")).toBe("1.0.0");
      const pinned = project({ steady: "=1.1.0" });
      const refused = await pinned.generateLockfile();
      expect(refused.code, describeRun(refused)).toBe(101);

      clockOffset = 5 * DAY + 60; // 9 + 5 days old: the window and the extra 7 days are over
      try {
        const later = project({ steady: "1" });
        const resolved = await later.generateLockfile();
        expect(resolved.code, describeRun(resolved)).toBe(0);
        expect(later.lockedVersion("steady")).toBe("1.1.0");
      } finally {
        clockOffset = 0;
      }
    });
  });
});
