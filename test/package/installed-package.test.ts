/**
 * The package as a user installs it: `npm pack` (its prepack build), then `npm install -g <tarball> --prefix DIR` from
 * the registry, the tree made read-only, and every command run from it as a child process — as an unprivileged user
 * when the tests run as root, for whom permission bits do not stop a write — against loopback fakes of crates.io and
 * its updates feed.
 */
import { copyFileSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localBetterSqlite3Prebuild } from "../support/better-sqlite3-prebuild.ts";
import { daysAgo, type FakeCratesIo, startFakeCratesIo } from "../support/fake-crates-io.ts";
import { type FakeUpdatesFeed, startFakeUpdatesFeed } from "../support/fake-updates-feed.ts";
import { environmentForNpm, type ProcessRun, runProcess } from "../support/process-run.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CRATES_IO = "registry+https://github.com/rust-lang/crates.io-index";
/**
 * Packing and installing take seconds with the local prebuilt better-sqlite3. A global install resolves the ranges in
 * package.json afresh, though: while the registry has a newer better-sqlite3 than the checkout's lockfile, no local
 * prebuild matches and npm compiles it from source — about 2 minutes of CPU, several on a busy machine.
 */
const INSTALL_LIMIT_MS = 600_000;

interface Packed {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}

let work: string;
let prefix: string;
let data: string;
let packed: Packed;
let installedBefore: string[];
let fake: FakeCratesIo;
let feed: FakeUpdatesFeed;

/** Runs the installed command through the link npm made, as a user of a read-only install. */
function installed(args: readonly string[], options: Partial<Parameters<typeof runProcess>[2]> = {}) {
  return runProcess(join(prefix, "bin", "crates-cooldown"), args, {
    cwd: data,
    timeoutMs: 60_000,
    ...unprivilegedUser(),
    ...options,
  });
}

/** `nobody` when running as root (whom chmod does not stop), else nothing to change. */
function unprivilegedUser(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const nobody = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .map((line) => line.split(":"))
    .find((fields) => fields[0] === "nobody");
  return { uid: Number(nobody?.[2] ?? 65534), gid: Number(nobody?.[3] ?? 65534) };
}

/** Every path under `dir` with its type, mode, size and modification time: any write shows as a difference. */
function treeListing(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .sort()
    .map((path) => {
      const stat = lstatSync(join(dir, path));
      return `${path} ${stat.mode.toString(8)} ${stat.size} ${stat.mtimeMs}`;
    });
}

function lockfile(pins: [string, string][]): string {
  const path = join(data, `Cargo-${Math.random().toString(36).slice(2)}.lock`);
  writeFileSync(
    path,
    `version = 4\n${pins.map(([name, version]) => `\n[[package]]\nname = "${name}"\nversion = "${version}"\nsource = "${CRATES_IO}"\n`).join("")}`,
  );
  return path;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "cc-package-"));
  prefix = join(work, "prefix");
  data = join(work, "data");
  const prebuilds = join(work, "prebuilds");
  mkdirSync(data, { mode: 0o777 });
  mkdirSync(prebuilds);
  await runProcess("chmod", ["0755", work], { timeoutMs: 10_000 });
  await runProcess("chmod", ["0777", data], { timeoutMs: 10_000 });

  const pack = await runProcess("npm", ["pack", "--json", "--pack-destination", work], {
    cwd: ROOT,
    env: environmentForNpm(),
    timeoutMs: INSTALL_LIMIT_MS,
  });
  expect(pack.code, pack.stderr).toBe(0);
  packed = (JSON.parse(pack.stdout) as Packed[])[0] as Packed;

  const install = await runProcess(
    "npm",
    [
      "install",
      "--global",
      join(work, packed.filename),
      "--prefix",
      prefix,
      "--allow-scripts=better-sqlite3",
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
    ],
    {
      cwd: work,
      env: environmentForNpm(await localBetterSqlite3Prebuild(prebuilds)),
      timeoutMs: INSTALL_LIMIT_MS,
    },
  );
  expect(install.code, install.stderr).toBe(0);
  const readOnly = await runProcess("chmod", ["-R", "a-w", prefix], { timeoutMs: 30_000 });
  expect(readOnly.code, readOnly.stderr).toBe(0);
  installedBefore = treeListing(prefix);

  fake = await startFakeCratesIo({ timeoutMs: 300_000 });
  await fake.publish({ name: "alpha", vers: "1.0.0", pubtime: daysAgo(30) });
  await fake.publish({ name: "alpha", vers: "1.1.0", pubtime: daysAgo(2) });
  await fake.publish({ name: "beta", vers: "1.0.0", pubtime: null });
  feed = await startFakeUpdatesFeed({ timeoutMs: 300_000 });
  feed.setItems([{ crate: "beta", version: "1.0.0", publishedAt: Math.floor(daysAgo(30)) }]);
}, INSTALL_LIMIT_MS + 120_000);

afterAll(async () => {
  await fake?.close();
  await feed?.close();
  if (work !== undefined) {
    await runProcess("chmod", ["-R", "u+w", work], { timeoutMs: 30_000 });
    await rm(work, { recursive: true, force: true });
  }
});

const upstream = () => ["--upstream", fake.url, "--db", join(data, "timestamps.sqlite")];

describe("npm pack", () => {
  it("packs the built CLI, the licences and the README, and no sources, tests, benchmarks or fixtures", () => {
    expect(packed.files.map((file) => file.path).sort()).toEqual([
      "LICENSE-APACHE",
      "LICENSE-MPL",
      "README.md",
      "bin/crates-cooldown.js",
      "dist/cli.mjs",
      "dist/cli.mjs.map",
      "package.json",
    ]);
    expect(packed.size).toBeLessThan(500_000);
  });

  it("installs runtime dependencies only: no esbuild, no tsx", () => {
    const modules = join(prefix, "lib", "node_modules", "crates-cooldown", "node_modules");
    const names = readdirSync(modules);
    expect(names).toContain("better-sqlite3");
    expect(names).not.toContain("esbuild");
    expect(names).not.toContain("tsx");
    expect(names).not.toContain("vitest");
  });
});

describe("the installed, read-only crates-cooldown", () => {
  it("prints its version", async () => {
    const run = await installed(["--version"]);
    expect(run.code, run.stderr).toBe(0);
    const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    expect(run.stdout).toBe(`${version}\n`);
  });

  it("check exits 0 when every pin is visible, 1 naming a pin that is too young, 2 on a malformed lockfile", async () => {
    const ok = await installed(["check", lockfile([["alpha", "1.0.0"]]), "--window", "7d", ...upstream()]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe("ok: all 1 crates.io pins are visible under /7d/\n");

    const young = await installed([
      "check",
      lockfile([
        ["alpha", "1.1.0"],
        ["alpha", "1.0.0"],
      ]),
      ...upstream(),
    ]);
    expect(young.code, young.stderr).toBe(1);
    expect(young.stdout).toMatch(/^alpha 1\.1\.0: too young \(published \S+Z\); clears at \S+Z\n/);
    expect(young.stdout).toContain("1 of 2 crates.io pins would not resolve under /7d/\n");

    const bad = join(data, "bad.lock");
    writeFileSync(bad, "[[package]\nname = ");
    const malformed = await installed(["check", bad, ...upstream()]);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/^error: .*bad\.lock/);
    expect(malformed.stderr.trimEnd().split("\n")).toHaveLength(1);
  });

  it("ingest feed fills the database, which explain, check and kv export then read", async () => {
    const before = await installed(["check", lockfile([["beta", "1.0.0"]]), ...upstream()]);
    expect(before.code).toBe(1);
    expect(before.stdout).toContain("beta 1.0.0: publish time unknown");

    const ingest = await installed(["ingest", "feed", "--source", feed.url, "--db", join(data, "timestamps.sqlite")]);
    expect(ingest.code, ingest.stderr).toBe(0);

    const after = await installed(["check", lockfile([["beta", "1.0.0"]]), ...upstream()]);
    expect(after.code, after.stderr).toBe(0);

    const explain = await installed(["explain", "beta", ...upstream()]);
    expect(explain.code, explain.stderr).toBe(0);
    expect(explain.stdout).toMatch(/1\.0\.0\s+\S+Z\s+database\s+yes/);

    const out = join(data, "kv.json");
    const kv = await installed(["kv", "export", "--out", out, "--db", join(data, "timestamps.sqlite")]);
    expect(kv.code, kv.stderr).toBe(0);
    expect(readFileSync(out, "utf8")).toContain('"beta"');
  });

  it("serve answers a filtered index file on 127.0.0.1, then stops on SIGTERM", async () => {
    let answered: Promise<Response> | undefined;
    const run: ProcessRun = await installed(["serve", "--listen", "127.0.0.1:0", "--quiet", ...upstream()], {
      onStdout: (stdout, child) => {
        const url = /^listening on (\S+)\n/.exec(stdout)?.[1];
        if (url === undefined || answered !== undefined) return;
        answered = fetch(`${url}7d/al/ph/alpha`);
        answered.finally(() => child.kill("SIGTERM")).catch(() => {});
      },
    });
    expect(run, run.stderr).toMatchObject({ code: 0, signal: null });
    const response = await (answered as Promise<Response>);
    expect(response.status).toBe(200);
    expect(
      (await response.text())
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line).vers),
    ).toEqual(["1.0.0"]);
  });

  it("says what is missing, and exits 1, when a package holds no build", async () => {
    const unbuilt = join(work, "unbuilt");
    mkdirSync(join(unbuilt, "bin"), { recursive: true });
    copyFileSync(
      join(prefix, "lib", "node_modules", "crates-cooldown", "bin", "crates-cooldown.js"),
      join(unbuilt, "bin", "crates-cooldown.js"),
    );
    const run = await runProcess(process.execPath, [join(unbuilt, "bin", "crates-cooldown.js"), "--version"], {
      timeoutMs: 30_000,
    });
    expect(run).toMatchObject({
      code: 1,
      stdout: "",
      stderr: "error: this crates-cooldown package holds no dist/cli.mjs; install a tarball made by npm pack\n",
    });
  });

  it("wrote nothing into its own tree", () => {
    expect(treeListing(prefix)).toEqual(installedBefore);
  });
});
