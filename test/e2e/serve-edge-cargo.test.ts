import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { exportKvStore } from "../../src/kv/kv-export.ts";
import { TimestampDatabase } from "../../src/store/timestamp-database.ts";
import { CargoProject, cargoVersion, createCargoHome, describeRun } from "../support/cargo-project.ts";
import { daysAgo, type FakeCratesIo, startFakeCratesIo } from "../support/fake-crates-io.ts";

// What a user types: `npm run serve:edge` (the local Compute host running the edge wasm), then real cargo pointed at
// it — in both HTTP-cache modes: `unsupported` is what `fastly compute serve` (Viceroy) gives, `memory` is production.

const CARGO = cargoVersion();
if (CARGO === null && process.env.CI === "true")
  throw new Error("cargo is not on PATH: in CI the end-to-end proof must run");
if (CARGO === null) console.warn("skipping test/e2e/serve-edge-cargo.test.ts: cargo is not on PATH");

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const LIFETIME_MS = 120_000;

interface ServeEdge {
  readonly url: string;
  readonly child: ChildProcess;
  /** How npm ended: it passes SIGTERM to the host (which exits 0, see test/compute-host) and then re-raises it. */
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `npm run serve:edge -- …` in its own process group, so SIGTERM reaches the host behind npm. */
async function serveEdge(args: readonly string[]): Promise<ServeEdge> {
  const child = spawn("npm", ["run", "--silent", "serve:edge", "--", ...args], {
    cwd: REPO,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  setTimeout(() => stopGroup(child, "SIGKILL"), LIFETIME_MS).unref();
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  for (;;) {
    const match = /^listening on (http:\/\/\S+\/)$/m.exec(stdout);
    if (match) return { url: match[1]!, child, exit };
    const exited = await Promise.race([
      exit.then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), 50)),
    ]);
    if (exited) throw new Error(`serve:edge exited before listening:\n${stdout}\n${stderr}`);
  }
}

function stopGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.exitCode !== null || child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

describe.skipIf(CARGO === null)(
  `real cargo (${CARGO ?? "absent"}) through npm run serve:edge`,
  { timeout: 120_000 },
  () => {
    let fake: FakeCratesIo;
    let scratch: string;
    let kvFile: string;
    const projects: CargoProject[] = [];
    const cargoHomes: string[] = [];

    beforeAll(async () => {
      scratch = mkdtempSync(join(tmpdir(), "crates-cooldown-serve-edge-"));
      fake = await startFakeCratesIo({ gzip: true, timeoutMs: LIFETIME_MS, maxRequests: 1_000 });
      await fake.publish({ name: "alpha", vers: "1.0.0", pubtime: daysAgo(30) });
      await fake.publish({ name: "alpha", vers: "1.1.0", pubtime: daysAgo(10) });
      await fake.publish({ name: "alpha", vers: "1.2.0", pubtime: daysAgo(2) });
      // A crate without pubtime: only the KV data (`kv export` of the timestamp database) can date it.
      await fake.publish({ name: "legacy", vers: "1.0.0" });
      await fake.publish({ name: "legacy", vers: "1.1.0" });
      const database = new TimestampDatabase(join(scratch, "timestamps.sqlite"));
      try {
        database.record([
          { crate: "legacy", version: "1.0.0", publishedAt: daysAgo(40) },
          { crate: "legacy", version: "1.1.0", publishedAt: daysAgo(3) },
        ]);
        kvFile = join(scratch, "kv.json");
        exportKvStore(database, kvFile);
      } finally {
        database.close();
      }
    });

    afterAll(async () => {
      for (const project of projects) project.dispose();
      for (const home of cargoHomes) rmSync(home, { recursive: true, force: true });
      await fake?.close();
      if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
    });

    it.each(["unsupported", "memory"])(
      "resolves under /7d/ with --http-cache %s, then stops on SIGTERM",
      async (mode) => {
        const edge = await serveEdge([
          "--listen",
          "127.0.0.1:0",
          "--wasm",
          inject("edgeWasmPath"),
          "--backend",
          `crates_io_index=${fake.url}`,
          "--kv-store",
          `cooldown_times=${kvFile}`,
          "--http-cache",
          mode,
        ]);
        try {
          const cargoHome = createCargoHome();
          cargoHomes.push(cargoHome);
          const app = new CargoProject({
            registry: `${edge.url}7d/`,
            dependencies: { alpha: "1", legacy: "1" },
            cargoHome,
          });
          projects.push(app);
          const run = await app.generateLockfile();
          expect(run.code, describeRun(run)).toBe(0);
          // alpha 1.2.0 is 2 days old (pubtime); legacy 1.1.0 is 3 days old (KV record): both hidden under /7d/.
          expect(app.lockedVersion("alpha")).toBe("1.1.0");
          expect(app.lockedVersion("legacy")).toBe("1.0.0");
        } finally {
          stopGroup(edge.child, "SIGTERM");
        }
        const ended = await edge.exit;
        expect(ended.code === 0 || ended.signal === "SIGTERM", JSON.stringify(ended)).toBe(true);
      },
    );
  },
);
