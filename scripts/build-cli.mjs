#!/usr/bin/env node
// Bundles src/cli.ts into dist/cli.mjs (and its source map), the one file bin/crates-cooldown.js runs. Dependencies stay
// external: they are the package's runtime dependencies, installed beside it. Run by `npm pack` (prepack) so the
// tarball holds the build, and from a checkout by bin/crates-cooldown.js whenever a source is newer than the bundle.
// esbuild is a devDependency: this script never runs from an installed package.
import { readdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
export const BUNDLE = `${root}dist/cli.mjs`;

/** Writes dist/cli.mjs and dist/cli.mjs.map. */
export async function buildCli() {
  const { build } = await import("esbuild");
  const result = await build({
    entryPoints: [`${root}src/cli.ts`],
    outfile: BUNDLE,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    // A linked map without the sources' text: stack traces name src/…ts lines, and the package stays small.
    sourcemap: "linked",
    sourcesContent: false,
    logLevel: "error",
    write: false,
  });
  await mkdir(`${root}dist`, { recursive: true });
  // Each file is written beside and renamed into place, the map first: two commands starting at once never see half a
  // bundle, nor a bundle whose map is missing.
  const files = [...result.outputFiles].sort(
    (a, b) => Number(b.path.endsWith(".map")) - Number(a.path.endsWith(".map")),
  );
  for (const file of files) {
    const temporary = `${file.path}.${process.pid}.tmp`;
    writeFileSync(temporary, file.contents);
    renameSync(temporary, file.path);
  }
}

/** The newest modification time among what the bundle is built from (sources, package.json, this script). */
function newestInput() {
  let newest = Math.max(statSync(`${root}package.json`).mtimeMs, statSync(fileURLToPath(import.meta.url)).mtimeMs);
  for (const entry of readdirSync(`${root}src`, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith(".ts"))
      newest = Math.max(newest, statSync(`${entry.parentPath ?? entry.path}/${entry.name}`).mtimeMs);
  }
  return newest;
}

function bundleAge() {
  try {
    return statSync(BUNDLE).mtimeMs;
  } catch {
    return -1;
  }
}

/** Builds only when the bundle is missing or older than one of its inputs (a checkout's edit-and-run loop). */
export async function buildCliIfStale() {
  if (bundleAge() < newestInput()) await buildCli();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await buildCli();
