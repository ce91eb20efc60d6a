/**
 * vitest globalSetup: builds the edge (`src/edge/main.ts`) once per test run, exactly as `npm run build` does
 * (`js-compute-runtime --enable-http-cache src/edge/main.ts <out>`), into a temporary directory rather than `bin/`, and
 * provides its path to every test file as `inject("edgeWasmPath")`. A failed build fails the run with the compiler's
 * whole output in the message. The directory is removed in teardown.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** The edge service compiled to a Compute wasm for this run (see test/support/edge-wasm.global.ts). */
    edgeWasmPath: string;
  }
}

const REPO = fileURLToPath(new URL("../../", import.meta.url));
/** A build takes 10–20 s; far longer means the compiler hangs. */
const BUILD_LIMIT_MS = 300_000;

/** The arguments of `npm run build`, with the output moved to `wasmPath`. */
export function edgeBuildArguments(wasmPath: string, entry = "src/edge/main.ts"): string[] {
  return ["--enable-http-cache", entry, wasmPath];
}

/** Builds `entry` (default the edge service) as `npm run build` does; throws with the compiler's whole output. */
export async function buildEdgeWasm(wasmPath: string, entry?: string): Promise<void> {
  const args = edgeBuildArguments(wasmPath, entry);
  const command = join(REPO, "node_modules/.bin/js-compute-runtime");
  const output: Buffer[] = [];
  const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>(
    (resolve) => {
      const child = spawn(command, args, { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
      child.stdout.on("data", (chunk: Buffer) => output.push(chunk));
      child.stderr.on("data", (chunk: Buffer) => output.push(chunk));
      const timer = setTimeout(() => child.kill("SIGKILL"), BUILD_LIMIT_MS);
      timer.unref();
      child.on("error", (error) => {
        clearTimeout(timer);
        resolve({ code: null, signal: null, error });
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal });
      });
    },
  );
  // Success means a module on disk, not only an exit status.
  const written = outcome.code === 0 && existsSync(wasmPath) && statSync(wasmPath).size > 0;
  if (!written) {
    const how =
      outcome.error !== undefined
        ? `could not start (${outcome.error.message})`
        : outcome.signal !== null
          ? `was killed (${outcome.signal})`
          : outcome.code !== 0
            ? `exited ${outcome.code}`
            : `exited 0 but wrote no ${wasmPath}`;
    throw new Error(
      `building the edge wasm failed: js-compute-runtime ${args.join(" ")} ${how}\n--- compiler output ---\n${Buffer.concat(output).toString("utf8")}`,
    );
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const directory = mkdtempSync(join(tmpdir(), "crates-cooldown-edge-wasm-"));
  const wasmPath = join(directory, "main.wasm");
  try {
    await buildEdgeWasm(wasmPath);
  } catch (error) {
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }
  project.provide("edgeWasmPath", wasmPath);
  return () => rmSync(directory, { recursive: true, force: true });
}
