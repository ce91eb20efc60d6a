import { readFileSync, statSync } from "node:fs";
import { describe, expect, inject, it } from "vitest";
import { edgeBuildArguments } from "../support/edge-wasm.global.ts";

// The wasm is built once per run by the global setup (test/support/edge-wasm.global.ts), with `npm run build`'s flags.
describe("the edge build", () => {
  it("builds with the flags `npm run build` uses", () => {
    const script = (
      JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
        scripts: Record<string, string>;
      }
    ).scripts.build;
    expect(script).toBe(`js-compute-runtime ${edgeBuildArguments("bin/main.wasm").join(" ")}`);
  });

  it("compiles src/edge/main.ts to a Compute wasm: a WebAssembly module with the StarlingMonkey engine, megabytes of it", () => {
    const wasm = inject("edgeWasmPath");
    // A real Compute module: the engine plus the bundled service.
    expect(statSync(wasm).size).toBeGreaterThan(5_000_000);
    const bytes = readFileSync(wasm);
    expect([...bytes.subarray(0, 4)]).toEqual([0x00, 0x61, 0x73, 0x6d]); // "\0asm"
    const module = new WebAssembly.Module(bytes);
    // It is a Compute program: it imports Fastly's host calls and exports the WASI entry point.
    expect(WebAssembly.Module.imports(module).some((entry) => entry.module.startsWith("fastly_"))).toBe(true);
    expect(WebAssembly.Module.exports(module).map((entry) => entry.name)).toContain("_start");
  });
});
