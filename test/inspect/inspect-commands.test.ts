import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TimestampDatabase } from "../../src/store/timestamp-database.ts";
import { CliProcess } from "../server/cli-process.ts";
import { daysAgo, type FakeCratesIo, startFakeCratesIo } from "../support/fake-crates-io.ts";

const CRATES_IO = "registry+https://github.com/rust-lang/crates.io-index";
let fake: FakeCratesIo;
let scratch: string;
let dbPath: string;

beforeAll(async () => {
  fake = await startFakeCratesIo({ timeoutMs: 120_000 });
  scratch = mkdtempSync(join(tmpdir(), "cooldown-inspect-"));
  dbPath = join(scratch, "timestamps.sqlite");
  await fake.publish({ name: "alpha", vers: "1.0.0", pubtime: daysAgo(30) });
  await fake.publish({ name: "alpha", vers: "1.1.0", pubtime: daysAgo(2) });
  await fake.publish({ name: "yanky", vers: "0.1.0", pubtime: daysAgo(40), yanked: true });
  await fake.publish({ name: "yanky", vers: "0.2.0", pubtime: daysAgo(40) });
  fake.setServePubtime(false);
  const db = new TimestampDatabase(dbPath);
  db.record([
    { crate: "alpha", version: "1.0.0", publishedAt: daysAgo(30) },
    { crate: "yanky", version: "0.1.0", publishedAt: daysAgo(40) },
    { crate: "yanky", version: "0.2.0", publishedAt: daysAgo(40) },
  ]);
  db.close();
});

afterAll(async () => {
  await fake.close();
  rmSync(scratch, { recursive: true, force: true });
});

async function cli(args: string[]) {
  const run = CliProcess.run(args);
  const { code } = await run.exited;
  return { code, stdout: run.stdout, stderr: run.stderr };
}

const common = () => ["--upstream", fake.url, "--db", dbPath];

describe("crates-cooldown explain", () => {
  it("prints every version with its time, source and verdict, from the database where the index has no pubtime", async () => {
    const run = await cli(["explain", "Alpha", "--window", "7d", ...common()]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^alpha under \/7d\/ at .*: 1 of 2 versions visible\n/);
    expect(run.stdout).toMatch(/1\.0\.0\s+\S+Z\s+database\s+yes\s+visible since/);
    expect(run.stdout).toMatch(/1\.1\.0\s+unknown\s+-\s+no\s+publish time unknown/);
    // The fake upstream is not crates.io: no trust signals, and the command says so.
    expect(run.stderr).toContain("note: no trust signals were checked: the upstream is not crates.io");
  });

  it("prints the same explanation as JSON", async () => {
    const run = await cli(["explain", "alpha", "--format", "json", ...common()]);
    const json = JSON.parse(run.stdout) as {
      crate: string;
      window: string;
      versions: { version: string; visible: boolean; reason: string | null }[];
    };
    expect(json.crate).toBe("alpha");
    expect(json.window).toBe("7d");
    expect(json.versions.map((v) => [v.version, v.visible, v.reason])).toEqual([
      ["1.0.0", true, null],
      ["1.1.0", false, "unknown-publish-time"],
    ]);
  });

  it("says on stderr, once, that it created a missing database directory", async () => {
    const missing = join(scratch, "made-by-explain", "deeper", "times.sqlite");
    const run = await cli(["explain", "alpha", "--upstream", fake.url, "--db", missing]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr.split("\n").filter((line) => line.startsWith("created the database directory"))).toEqual([
      `created the database directory ${join(scratch, "made-by-explain", "deeper")}`,
    ]);
    const again = await cli(["explain", "alpha", "--upstream", fake.url, "--db", missing]);
    expect(again.stderr).not.toContain("created the database directory");
  });

  it("fails with one line for an unknown crate, a bad window or a bad name", async () => {
    for (const args of [
      ["explain", "nosuch"],
      ["explain", "alpha", "--window", "07d"],
      ["explain", "al.pha"],
      ["explain", "alpha", "--window", "0d"],
    ]) {
      const run = await cli([...args, ...common()]);
      expect(run.code, args.join(" ")).toBe(1);
      expect(run.stderr.trimEnd().split("\n"), args.join(" ")).toHaveLength(1);
      expect(run.stderr).toMatch(/^error: /);
    }
  });
});

describe("crates-cooldown check", () => {
  const lockfile = (pins: [string, string, string?][]) => {
    const path = join(scratch, `Cargo-${Math.random().toString(36).slice(2)}.lock`);
    writeFileSync(
      path,
      `version = 4\n${pins.map(([n, v, s]) => `\n[[package]]\nname = "${n}"\nversion = "${v}"\n${s === "" ? "" : `source = "${s ?? CRATES_IO}"\n`}`).join("")}`,
    );
    return path;
  };

  it("exits 0 when every pin is visible, and says so", async () => {
    const run = await cli([
      "check",
      lockfile([
        ["alpha", "1.0.0"],
        ["yanky", "0.2.0"],
        ["app", "0.1.0", ""],
      ]),
      "--window",
      "7d",
      ...common(),
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe("ok: all 2 crates.io pins are visible under /7d/\n");
  });

  it("exits 1 listing each pin that is too young, yanked or of unknown age, with its reason", async () => {
    const run = await cli([
      "check",
      lockfile([
        ["alpha", "1.1.0"],
        ["yanky", "0.1.0"],
        ["alpha", "1.0.0"],
      ]),
      ...common(),
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("alpha 1.1.0: publish time unknown");
    expect(run.stdout).toContain("yanky 0.1.0: yanked");
    expect(run.stdout).not.toContain("alpha 1.0.0");
    expect(run.stdout).toContain("2 of 3 crates.io pins would not resolve under /7d/");
  });

  it("reports JSON with --format json", async () => {
    const run = await cli(["check", lockfile([["alpha", "1.1.0"]]), "--format", "json", ...common()]);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({
      window: "7d",
      checked: 1,
      problems: 1,
      findings: [{ name: "alpha", version: "1.1.0", status: "unknown-publish-time" }],
    });
  });

  it("appends the report as a Markdown table to the --markdown file, whatever --format prints", async () => {
    const summary = join(scratch, "summary.md");
    writeFileSync(summary, "earlier step\n");
    const run = await cli([
      "check",
      lockfile([
        ["alpha", "1.1.0"],
        ["alpha", "1.0.0"],
      ]),
      "--format",
      "json",
      "--markdown",
      summary,
      ...common(),
    ]);
    expect(run.code, run.stderr).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ problems: 1 });
    expect(readFileSync(summary, "utf8")).toBe(
      [
        "earlier step",
        "### crates-cooldown check: 1 of 2 crates.io pins would not resolve under /7d/",
        "",
        "| pin | verdict | reason | clears at |",
        "| --- | --- | --- | --- |",
        "| alpha 1.1.0 | hidden | publish time unknown | once the timestamp database learns it and the window has passed |",
        "",
        "",
      ].join("\n"),
    );
  });

  it("exits 2 with one line for a malformed or missing lockfile, a bad window or a bad flag", async () => {
    const bad = join(scratch, "bad.lock");
    writeFileSync(bad, "[[package]\nname = ");
    for (const args of [
      ["check", bad],
      ["check", join(scratch, "missing.lock")],
      ["check", lockfile([["alpha", "1.0.0"]]), "--window", "3D"],
      ["check", lockfile([["alpha", "1.0.0"]]), "--format", "xml"],
      ["check", lockfile([["alpha", "1.0.0"]]), "--no-such-flag"],
      ["check", lockfile([["alpha", "1.0.0"]]), "--markdown", join(scratch, "no-such-dir", "summary.md")],
    ]) {
      const run = await cli([...args, ...common()]);
      expect(run.code, args.join(" ")).toBe(2);
      expect(run.stderr.trimEnd().split("\n")).toHaveLength(1);
    }
  });
});
