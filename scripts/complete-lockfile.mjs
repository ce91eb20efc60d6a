#!/usr/bin/env node
// Adds to package-lock.json the other platforms' optional native builds that npm left out because the registry it
// resolved against did not have them (a mirror that carries only the host platform's builds). Without these entries
// `npm ci` refuses the lockfile ("Missing: @rollup/rollup-darwin-arm64@ from lock file"). Each entry carries the
// os/cpu/libc it is for, so npm installs it only on that platform (fetching it by version from the registry there).
// Run after any `npm install` that rewrites the lockfile: `node scripts/complete-lockfile.mjs`.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const path = fileURLToPath(new URL("../package-lock.json", import.meta.url));
const lock = JSON.parse(readFileSync(path, "utf8"));

const OSES = ["darwin", "win32", "linux", "android", "freebsd", "openbsd", "openharmony", "sunos", "aix"];
const CPUS = {
  arm64: "arm64",
  x64: "x64",
  ia32: "ia32",
  x32: "ia32",
  arm: "arm",
  ppc64: "ppc64",
  s390x: "s390x",
  riscv64: "riscv64",
  loong64: "loong64",
};

/** os/cpu/libc from a platform package's name, e.g. `@rollup/rollup-linux-x64-musl`; null when it names none. */
function platformOf(name) {
  const parts = name.split("/").pop().split("-");
  if (parts.includes("wasm32")) return { cpu: ["wasm32"] };
  const os = OSES.find((candidate) => parts.includes(candidate));
  const cpu = parts.map((part) => CPUS[part]).find(Boolean);
  if (os === undefined || cpu === undefined) return null;
  return {
    os: [os],
    cpu: [cpu],
    ...(parts.includes("musl")
      ? { libc: ["musl"] }
      : parts.includes("gnu") && os === "linux"
        ? { libc: ["glibc"] }
        : {}),
  };
}

let added = 0;
for (const [location, entry] of Object.entries(lock.packages)) {
  for (const [name, spec] of Object.entries(entry.optionalDependencies ?? {})) {
    const base = location === "" ? "" : `${location}/`;
    if (
      lock.packages[`${base}node_modules/${name}`] !== undefined ||
      lock.packages[`node_modules/${name}`] !== undefined
    )
      continue;
    const platform = platformOf(name);
    if (platform === null) continue;
    lock.packages[`node_modules/${name}`] = {
      version: spec.replace(/^[=^~]/, ""),
      ...(entry.dev ? { dev: true } : {}),
      optional: true,
      ...platform,
    };
    added++;
  }
}
const [root, ...rest] = Object.entries(lock.packages);
lock.packages = Object.fromEntries([root, ...rest.sort(([a], [b]) => a.localeCompare(b, "en"))]);
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: ${added} optional platform builds added`);
