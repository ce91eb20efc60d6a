#!/usr/bin/env node
// Runs the TypeScript sources with no build step. They are bundled once into dist/cli.mjs with esbuild (and again
// whenever a source file is newer than the bundle), because loading every module one by one through a TypeScript
// loader costs most of a second per command; the bundle starts in a fraction of that.
import { mkdirSync, readdirSync, renameSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const bundle = fileURLToPath(new URL("../dist/cli.mjs", import.meta.url));

function newestSource() {
  let newest = statSync(`${root}package.json`).mtimeMs;
  for (const entry of readdirSync(`${root}src`, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith(".ts"))
      newest = Math.max(newest, statSync(`${entry.parentPath ?? entry.path}/${entry.name}`).mtimeMs);
  }
  return newest;
}

function bundleAge() {
  try {
    return statSync(bundle).mtimeMs;
  } catch {
    return -1;
  }
}

if (bundleAge() < newestSource()) {
  const { build } = await import("esbuild");
  mkdirSync(`${root}dist`, { recursive: true });
  // Written beside and renamed into place: two commands starting at once never see half a bundle.
  const temporary = `${bundle}.${process.pid}.tmp`;
  await build({
    entryPoints: [`${root}src/cli.ts`],
    outfile: temporary,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    sourcemap: "inline",
    logLevel: "error",
  });
  renameSync(temporary, bundle);
}

process.setSourceMapsEnabled(true);
await import(new URL("../dist/cli.mjs", import.meta.url).href);
