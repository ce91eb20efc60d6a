import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // fastly:* modules exist only inside Compute; adapter tests get doubles that record call shapes.
    alias: [
      {
        find: /^fastly:(.*)$/,
        replacement: fileURLToPath(new URL("./test/edge/fastly-doubles/$1.ts", import.meta.url)),
      },
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    // Builds the edge wasm once per run (as `npm run build` does) for every test that runs it: inject("edgeWasmPath").
    globalSetup: ["test/support/edge-wasm.global.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
