/** Builds a Compute wasm from a JS/TS entry with the SDK's own compiler, for tests (a few seconds each). */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const COMPILER = join(REPO, "node_modules/.bin/js-compute-runtime");

export interface BuiltGuest {
  readonly wasmPath: string;
  remove(): Promise<void>;
}

/** `js-compute-runtime --enable-http-cache <entry> <tmp>/guest.wasm`; a failed build throws with the compiler's output. */
export async function buildGuest(entry: string): Promise<BuiltGuest> {
  const folder = await mkdtemp(join(tmpdir(), "compute-host-guest-"));
  const wasmPath = join(folder, "guest.wasm");
  await new Promise<void>((resolve, reject) => {
    execFile(
      COMPILER,
      ["--enable-http-cache", join(REPO, entry), wasmPath],
      { cwd: REPO, timeout: 120_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`building ${entry} failed: ${error.message}\n${stdout}\n${stderr}`));
        else resolve();
      },
    );
  });
  return { wasmPath, remove: () => rm(folder, { recursive: true, force: true }) };
}
