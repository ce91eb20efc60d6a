import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readPolicy } from "../../src/core/policy-document.ts";
import type { Clock } from "../../src/core/ports.ts";
import { ingestAdvisories } from "../../src/ingest/ingest-advisories.ts";
import { startCooldownServer, type RunningCooldownServer } from "../../src/server/start-server.ts";
import { TimestampDatabase } from "../../src/store/timestamp-database.ts";
import { writeAdvisoryDbFolder } from "../support/advisory-db-generator.ts";
import { CargoProject, cargoVersion, describeRun } from "../support/cargo-project.ts";
import { daysAgo, startFakeCratesIo, type FakeCratesIo } from "../support/fake-crates-io.ts";

const CARGO = cargoVersion();
if (CARGO === null && process.env.CI === "true") throw new Error("cargo is not on PATH: in CI the end-to-end proof must run");
if (CARGO === null) console.warn("skipping test/e2e/policy-resolution.test.ts: cargo is not on PATH");

const HOUR = 3_600;
const DAY = 86_400;

// Real cargo through the Node proxy: security-fix admission from a RustSec advisory, and an expiring exception.
describe.skipIf(CARGO === null)("real cargo resolving through the proxy's policy", { timeout: 120_000 }, () => {
  let fake: FakeCratesIo;
  let scratch: string;
  let dbPath: string;
  const servers: RunningCooldownServer[] = [];
  const projects: CargoProject[] = [];
  let clockOffset = 0;
  const clock: Clock = { now: () => Math.floor(Date.now() / 1000) + clockOffset };

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), "crates-cooldown-policy-e2e-"));
    dbPath = join(scratch, "timestamps.sqlite");
    fake = await startFakeCratesIo({ timeoutMs: 120_000 });
    // vulnerable 1.0.0 (a month old); its only fixed version, 1.0.1, is two hours old.
    await fake.publish({ name: "leaky", vers: "1.0.0", pubtime: daysAgo(30) });
    await fake.publish({ name: "leaky", vers: "1.0.1", pubtime: Math.floor(Date.now() / 1000) - 2 * HOUR });
    await fake.publish({ name: "shiny", vers: "2.0.0", pubtime: daysAgo(40) });
    await fake.publish({ name: "shiny", vers: "2.1.0", pubtime: daysAgo(1) });
  });

  afterAll(async () => {
    for (const project of projects) project.dispose();
    for (const server of servers) await server.close();
    await fake?.close();
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  });

  const project = (server: RunningCooldownServer, dependencies: Record<string, string>) => {
    const created = new CargoProject({ registry: `${server.url}7d/`, dependencies });
    projects.push(created);
    return created;
  };

  it("resolves a crate whose only fixed version is 2 hours old under /7d/ once an advisory names it patched, and not before", async () => {
    const server = await startCooldownServer({ listen: "127.0.0.1:0", upstream: fake.url, dbPath, quiet: true, clock });
    servers.push(server);
    const before = project(server, { leaky: "1.0.1" });
    const refused = await before.generateLockfile();
    expect(refused.code, describeRun(refused)).toBe(101);
    expect(refused.stderr).toContain("failed to select a version for the requirement `leaky = \"^1.0.1\"`");

    const db = new TimestampDatabase(dbPath);
    await ingestAdvisories(db, writeAdvisoryDbFolder(join(scratch, "advisory-db"), [{ id: "RUSTSEC-2026-0101", package: "leaky", patched: [">= 1.0.1"] }]));
    db.close();

    const after = project(server, { leaky: "1.0.1" });
    const admitted = await after.generateLockfile();
    expect(admitted.code, describeRun(admitted)).toBe(0);
    expect(after.lockedVersion("leaky")).toBe("1.0.1");
  });

  it("shows one version through an exception until it expires, and not after", async () => {
    const policy = readPolicy({
      exception: [{ crate: "shiny", version: "2.1.0", reason: "needed for the release", expires: new Date((clock.now() + DAY) * 1000) }],
    });
    const server = await startCooldownServer({ listen: "127.0.0.1:0", upstream: fake.url, dbPath: join(scratch, "exception.sqlite"), quiet: true, clock, policy });
    servers.push(server);
    const app = project(server, { shiny: "2" });
    const during = await app.generateLockfile();
    expect(during.code, describeRun(during)).toBe(0);
    expect(app.lockedVersion("shiny")).toBe("2.1.0");

    clockOffset = DAY + 1; // the exception has expired; 2.1.0 is two days old, still inside the window
    const afterwards = project(server, { shiny: "2" });
    const expired = await afterwards.generateLockfile();
    expect(expired.code, describeRun(expired)).toBe(0);
    expect(afterwards.lockedVersion("shiny")).toBe("2.0.0");
    clockOffset = 0;
  });
});
