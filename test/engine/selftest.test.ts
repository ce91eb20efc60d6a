import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { sharedFixturesPresent } from "../support/corpus-2020.ts";
import { BIG_SYNTHETIC_FILES, buildEngineSelfTest } from "./build-selftest.ts";
import { EDGE_CASE_INPUTS } from "./edge-case-inputs.ts";
import { SELFTEST_FAILED } from "./engine-vector.ts";
import { DELIBERATELY_WRONG_VECTOR, HAND_WRITTEN_VECTORS } from "./hand-written-vectors.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
/** Compiling the engine and running Wizer over the vectors takes 10–60 s, more on a busy machine. */
const ENGINE_BUILD_TIMEOUT = 180_000;

function runScript(args: string[], env: Record<string, string>): Promise<{ exitCode: number; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "test/engine/build-selftest.ts", ...args], {
      cwd: REPO,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ exitCode: code ?? 1, output }));
  });
}

const corpusPresent = sharedFixturesPresent("the engine self-test's 2020 corpus vectors");

/** One build for both tests below: compiling the engine and running Wizer is the slow part. */
let selfTest: ReturnType<typeof buildEngineSelfTest> | undefined;
// Timing passes cut to the minimum: this proves the bench path runs and agrees, bench/engine.bench.ts measures.
const builtSelfTest = () => (selfTest ??= buildEngineSelfTest({ benchPasses: 1, minBenchMs: 0 }));

describe("the core inside the Fastly Compute engine (StarlingMonkey, run by Wizer at build time)", () => {
  it(
    "decides every vector exactly as Node does and as written by hand, and the build exits 0",
    async () => {
      const result = await builtSelfTest();
      expect(result.exitCode, result.output).toBe(0);
      expect(result.passedCount).toBe(result.vectorCount);
      expect(result.vectorCount).toBeGreaterThanOrEqual(HAND_WRITTEN_VECTORS.length + EDGE_CASE_INPUTS.length);
    },
    ENGINE_BUILD_TIMEOUT,
  );

  it.skipIf(!corpusPresent)(
    "decides the 2020 corpus sample as the JSON.parse filter does, inside the engine",
    async () => {
      const result = await builtSelfTest();
      expect(result.corpusSkipped).toBeNull();
      // web-sys and the largest file (each dated by a KV record and by pubtime), the crate with the most versions
      // (with advisories; its admitted fixes are old enough anyway) and the two big generated files: the JSON.parse
      // filter agrees on all.
      expect(result.bench?.files.map((file) => file.agrees)).toEqual([true, true, true, true, true, true, true]);
      for (const { crate, versions } of BIG_SYNTHETIC_FILES) {
        const figure = result.bench?.files.find((file) => file.name.startsWith(`${crate}:`));
        expect(figure?.lines, crate).toBe(versions);
      }
      // Every 100th file, less those already in the checked sample.
      expect(result.bench?.typical?.files).toBeGreaterThan(300);
    },
    ENGINE_BUILD_TIMEOUT,
  );

  it(
    "fails the build (exit 1) when a single vector's expectation is wrong, naming the vector",
    async () => {
      const outDir = resolve(REPO, "test/engine/generated/wrong-vector");
      const { exitCode, output } = await runScript(["--no-corpus", "--no-bench", "--out-dir", outDir], {
        ENGINE_SELFTEST_INJECT_WRONG: "1",
      });
      expect(exitCode).not.toBe(0);
      expect(output).toContain(SELFTEST_FAILED);
      expect(output).toContain(DELIBERATELY_WRONG_VECTOR.name);
      expect(output).toContain('reasons ["too-young"], expected ["visible"]');
    },
    ENGINE_BUILD_TIMEOUT,
  );
});
