import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningCooldownServer, startCooldownServer } from "../../src/server/start-server.ts";
import { CliProcess } from "../server/cli-process.ts";
import { CargoProject, cargoVersion, describeRun } from "../support/cargo-project.ts";
import { daysAgo, type FakeCratesIo, startFakeCratesIo } from "../support/fake-crates-io.ts";

const CARGO = cargoVersion();
if (CARGO === null && process.env.CI === "true")
  throw new Error("cargo is not on PATH: in CI the end-to-end proof must run");
if (CARGO === null) console.warn("skipping test/e2e/lockfile-check.test.ts: cargo is not on PATH");

describe.skipIf(CARGO === null)(
  "crates-cooldown check on a lockfile real cargo resolved through /0d/",
  { timeout: 120_000 },
  () => {
    let fake: FakeCratesIo;
    let proxy: RunningCooldownServer;
    let scratch: string;
    let project: CargoProject;

    beforeAll(async () => {
      scratch = mkdtempSync(join(tmpdir(), "crates-cooldown-check-e2e-"));
      fake = await startFakeCratesIo({ timeoutMs: 120_000 });
      proxy = await startCooldownServer({
        listen: "127.0.0.1:0",
        upstream: fake.url,
        dbPath: join(scratch, "proxy.sqlite"),
        quiet: true,
      });
      await fake.publish({ name: "alpha", vers: "1.0.0", pubtime: daysAgo(30) });
      await fake.publish({ name: "alpha", vers: "1.2.0", pubtime: daysAgo(2) });
      await fake.publish({ name: "bravo", vers: "2.0.0", pubtime: daysAgo(10) });
      await fake.publish({ name: "charlie", vers: "0.5.0", pubtime: daysAgo(1), deps: [{ name: "bravo", req: "^2" }] });
      await fake.publish({ name: "delta", vers: "3.0.0", pubtime: daysAgo(6) });
      project = new CargoProject({
        registry: `${proxy.url}0d/`,
        dependencies: { alpha: "1", charlie: "0.5", delta: "3" },
      });
    });

    afterAll(async () => {
      project?.dispose();
      await proxy?.close();
      await fake?.close();
      rmSync(scratch, { recursive: true, force: true });
    });

    it("names exactly the pinned versions the 7-day window hides, and exits 1", async () => {
      const resolved = await project.generateLockfile();
      expect(resolved.code, describeRun(resolved)).toBe(0);
      expect(project.lockedVersion("alpha")).toBe("1.2.0");
      const lockPath = join(scratch, "Cargo.lock");
      writeFileSync(lockPath, project.readLockfile());

      const run = CliProcess.run([
        "check",
        lockPath,
        "--window",
        "7d",
        "--upstream",
        fake.url,
        "--db",
        join(scratch, "check.sqlite"),
        "--format",
        "json",
      ]);
      const { code } = await run.exited;
      expect(code, run.stderr).toBe(1);
      const report = JSON.parse(run.stdout) as { findings: { name: string; version: string; status: string }[] };
      const hidden = report.findings
        .filter((f) => f.status !== "visible" && f.status !== "not-checked")
        .map((f) => `${f.name} ${f.version} ${f.status}`);
      expect(hidden.sort()).toEqual(["alpha 1.2.0 too-young", "charlie 0.5.0 too-young", "delta 3.0.0 too-young"]);
      expect(report.findings.filter((f) => f.status === "visible").map((f) => f.name)).toEqual(["bravo"]);
    });
  },
);
