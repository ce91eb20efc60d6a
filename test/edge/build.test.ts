import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const REPO = fileURLToPath(new URL("../../", import.meta.url));

describe("the edge build", () => {
  it("compiles src/edge/main.ts to a Compute wasm with the flags `npm run build` uses", async () => {
    const out = mkdtempSync(join(tmpdir(), "edge-build-"));
    try {
      const wasm = join(out, "main.wasm");
      const code = await new Promise<number | null>((resolve) => {
        const child = spawn(join(REPO, "node_modules/.bin/js-compute-runtime"), ["--enable-http-cache", "src/edge/main.ts", wasm], { cwd: REPO, stdio: "ignore" });
        child.on("exit", resolve);
      });
      expect(code).toBe(0);
      // A real Compute module: the StarlingMonkey engine plus the bundled service, megabytes of it.
      expect(statSync(wasm).size).toBeGreaterThan(5_000_000);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 180_000);
});
