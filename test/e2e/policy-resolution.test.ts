import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_POLICY, readPolicy } from "../../src/core/policy-document.ts";
import { HOMES, type RunningHome, startHome } from "../contract/homes.ts";
import { CargoProject, cargoVersion, describeRun } from "../support/cargo-project.ts";
import { daysAgo, type FakeCratesIo, startFakeCratesIo } from "../support/fake-crates-io.ts";

const CARGO = cargoVersion();
if (CARGO === null && process.env.CI === "true")
  throw new Error("cargo is not on PATH: in CI the end-to-end proof must run");
if (CARGO === null) console.warn("skipping test/e2e/policy-resolution.test.ts: cargo is not on PATH");

const HOUR = 3_600;
const DAY = 86_400;
const SERVER_LIFETIME_MS = 180_000;

// Real cargo through each of the proxy's homes: security-fix admission from a RustSec advisory (ingested into the
// home's timestamp database; at the edge, the KV store `kv export` writes from it), and an expiring exception.
describe.skipIf(CARGO === null)("real cargo resolving through the proxy's policy", { timeout: 120_000 }, () => {
  let fake: FakeCratesIo;

  beforeAll(async () => {
    fake = await startFakeCratesIo({ timeoutMs: SERVER_LIFETIME_MS });
    // vulnerable 1.0.0 (a month old); its only fixed version, 1.0.1, is two hours old.
    await fake.publish({ name: "leaky", vers: "1.0.0", pubtime: daysAgo(30) });
    await fake.publish({ name: "leaky", vers: "1.0.1", pubtime: Math.floor(Date.now() / 1000) - 2 * HOUR });
    await fake.publish({ name: "shiny", vers: "2.0.0", pubtime: daysAgo(40) });
    await fake.publish({ name: "shiny", vers: "2.1.0", pubtime: daysAgo(1) });
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
      });
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

    it("resolves a crate whose only fixed version is 2 hours old under /7d/ once an advisory names it patched, and not before", async () => {
      const before = project({ leaky: "1.0.1" });
      const refused = await before.generateLockfile();
      expect(refused.code, describeRun(refused)).toBe(101);
      expect(refused.stderr).toContain('failed to select a version for the requirement `leaky = "^1.0.1"`');

      await home.setAdvisories([{ id: "RUSTSEC-2026-0101", package: "leaky", patched: [">= 1.0.1"] }]);

      const after = project({ leaky: "1.0.1" });
      const admitted = await after.generateLockfile();
      expect(admitted.code, describeRun(admitted)).toBe(0);
      expect(after.lockedVersion("leaky")).toBe("1.0.1");
    });

    it("shows one version through an exception until it expires, and not after", async () => {
      home.setPolicy(
        readPolicy({
          exception: [
            {
              crate: "shiny",
              version: "2.1.0",
              reason: "needed for the release",
              expires: new Date((now() + DAY) * 1000),
            },
          ],
        }),
      );
      const app = project({ shiny: "2" });
      const during = await app.generateLockfile();
      expect(during.code, describeRun(during)).toBe(0);
      expect(app.lockedVersion("shiny")).toBe("2.1.0");

      clockOffset = DAY + 1; // the exception has expired; 2.1.0 is two days old, still inside the window
      try {
        const afterwards = project({ shiny: "2" });
        const expired = await afterwards.generateLockfile();
        expect(expired.code, describeRun(expired)).toBe(0);
        expect(afterwards.lockedVersion("shiny")).toBe("2.0.0");
      } finally {
        clockOffset = 0;
      }
    });
  });
});
