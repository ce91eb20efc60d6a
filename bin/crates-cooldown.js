#!/usr/bin/env node
// The `crates-cooldown` command: runs dist/cli.mjs, the bundle of src/cli.ts.
//
// An installed package (npm install, npx, a global install) ships the bundle built by `npm pack` and no src/: it runs
// the bundle as it is and writes nothing, so a read-only install or one owned by another user works, and esbuild (a
// devDependency) is never needed.
//
// A checkout has src/ beside bin/: there the bundle is (re)built first whenever it is missing or a source is newer, so
// `npx crates-cooldown` works right after `npm ci` and after every edit, with no build step. The bundle (not the
// sources through a TypeScript loader, which costs most of a second per command) keeps every command starting fast.
import { existsSync } from "node:fs";

if (existsSync(new URL("../src/cli.ts", import.meta.url))) {
  const { buildCliIfStale } = await import("../scripts/build-cli.mjs");
  await buildCliIfStale();
} else if (!existsSync(new URL("../dist/cli.mjs", import.meta.url))) {
  // A package packed without its prepack build (e.g. installed from a git URL, where npm runs only `prepare`).
  process.stderr.write(
    "error: this crates-cooldown package holds no dist/cli.mjs; install a tarball made by npm pack\n",
  );
  process.exit(1);
}

process.setSourceMapsEnabled(true);
await import("../dist/cli.mjs");
