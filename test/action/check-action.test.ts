/**
 * action.yml, read with a YAML parser and run step by step as GitHub runs a composite action: a copy of the repository
 * as the action's checkout (`GITHUB_ACTION_PATH`), each `run` as a bash script (`bash --noprofile --norc -eo pipefail`)
 * in its working directory, `${{ inputs.* }}` and `${{ github.action_path }}` filled in, `GITHUB_STEP_SUMMARY`,
 * `GITHUB_WORKSPACE` and `RUNNER_TEMP` set. Only the setup-node step is not run: this Node stands in for it.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { TimestampDatabase } from "../../src/store/timestamp-database.ts";
import { localBetterSqlite3Prebuild } from "../support/better-sqlite3-prebuild.ts";
import { daysAgo, type FakeCratesIo, startFakeCratesIo } from "../support/fake-crates-io.ts";
import { environmentForNpm, type ProcessRun, runProcess } from "../support/process-run.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CRATES_IO = "registry+https://github.com/rust-lang/crates.io-index";
/** `npm ci` of the runtime dependencies, esbuild and the build: seconds, or two minutes compiling better-sqlite3. */
const INSTALL_LIMIT_MS = 300_000;

interface Step {
  name?: string;
  uses?: string;
  with?: Record<string, string>;
  shell?: string;
  run?: string;
  env?: Record<string, string>;
  "working-directory"?: string;
}
interface ActionYml {
  name: string;
  inputs: Record<string, { description: string; required?: boolean; default?: string }>;
  runs: { using: string; steps: Step[] };
}

const action = parse(readFileSync(join(ROOT, "action.yml"), "utf8")) as ActionYml;
const steps = action.runs.steps;
const installStep = steps.find((step) => step.run?.includes("npm ci")) as Step;
const checkStep = steps.find((step) => step.run?.includes("run-check.mjs")) as Step;
/** `${{ name }}`, as action.yml writes an expression. */
const expression = (name: string) => `\${{ ${name} }}`;

describe("action.yml", () => {
  it("is a composite action with the inputs of check and their defaults", () => {
    expect(action.runs.using).toBe("composite");
    expect(Object.fromEntries(Object.entries(action.inputs).map(([name, input]) => [name, input.default]))).toEqual({
      lockfile: "Cargo.lock",
      window: "7d",
      upstream: "",
      policy: "",
      format: "text",
      db: "",
      "node-version": "24",
    });
    for (const input of Object.values(action.inputs)) expect(input.description).not.toBe("");
  });

  it("sets up Node with setup-node pinned to a commit, installs from its own checkout, then checks", () => {
    expect(steps.map((step) => (step.uses === undefined ? step.name : "setup-node"))).toEqual([
      "setup-node",
      installStep.name,
      checkStep.name,
    ]);
    expect(steps[0]?.uses).toMatch(/^actions\/setup-node@[0-9a-f]{40}$/);
    expect(steps[0]?.with).toEqual({ "node-version": expression("inputs.node-version") });
    expect(installStep["working-directory"]).toBe(expression("github.action_path"));
    for (const step of [installStep, checkStep]) expect(step.shell).toBe("bash");
  });

  it("hands every input but node-version to the check step as INPUT_<NAME>", () => {
    const checkInputs = Object.keys(action.inputs).filter((name) => name !== "node-version");
    expect(checkStep.env).toEqual(
      Object.fromEntries(checkInputs.map((name) => [`INPUT_${name.toUpperCase()}`, expression(`inputs.${name}`)])),
    );
  });
});

let work: string;
let actionPath: string;
let fake: FakeCratesIo;
let dbWithBeta: string;

/** Fills in the expressions action.yml uses; any other expression fails the test rather than pass unread. */
function expand(text: string, inputs: Record<string, string>): string {
  return text.replace(/\$\{\{\s*([^}]*?)\s*\}\}/g, (_, expression: string) => {
    if (expression === "github.action_path") return actionPath;
    const input = /^inputs\.([\w-]+)$/.exec(expression)?.[1];
    if (input === undefined || !(input in action.inputs))
      throw new Error(`unexpected expression \${{ ${expression} }}`);
    return inputs[input] ?? action.inputs[input]?.default ?? "";
  });
}

/** Runs one `run` step of action.yml as GitHub does, in a workspace, with the given inputs. */
async function runStep(
  step: Step,
  options: { workspace: string; inputs?: Record<string, string>; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<ProcessRun & { summary: string }> {
  const inputs = options.inputs ?? {};
  const runnerTemp = join(work, "runner-temp");
  mkdirSync(runnerTemp, { recursive: true });
  const script = join(runnerTemp, `step-${Math.random().toString(36).slice(2)}.sh`);
  writeFileSync(script, step.run as string);
  const summary = join(runnerTemp, `summary-${Math.random().toString(36).slice(2)}.md`);
  writeFileSync(summary, "");
  const stepEnv = Object.fromEntries(
    Object.entries(step.env ?? {}).map(([name, value]) => [name, expand(value, inputs)]),
  );
  const run = await runProcess("bash", ["--noprofile", "--norc", "-eo", "pipefail", script], {
    cwd: step["working-directory"] === undefined ? options.workspace : expand(step["working-directory"], inputs),
    env: environmentForNpm({
      ...options.env,
      ...stepEnv,
      GITHUB_ACTION_PATH: actionPath,
      GITHUB_WORKSPACE: options.workspace,
      GITHUB_STEP_SUMMARY: summary,
      RUNNER_TEMP: runnerTemp,
    }),
    timeoutMs: options.timeoutMs ?? 60_000,
  });
  return { ...run, summary: readFileSync(summary, "utf8") };
}

/** A fresh workspace holding `Cargo.lock` with these crates.io pins. */
function workspaceWith(pins: [string, string][], lockfilePath = "Cargo.lock"): string {
  const workspace = join(work, `workspace-${Math.random().toString(36).slice(2)}`);
  mkdirSync(dirname(join(workspace, lockfilePath)), { recursive: true });
  writeFileSync(
    join(workspace, lockfilePath),
    `version = 4\n${pins.map(([name, version]) => `\n[[package]]\nname = "${name}"\nversion = "${version}"\nsource = "${CRATES_IO}"\n`).join("")}`,
  );
  return workspace;
}

const check = (workspace: string, inputs: Record<string, string> = {}) =>
  runStep(checkStep, { workspace, inputs: { upstream: fake.url, ...inputs } });

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "cc-action-"));
  // The action's checkout: the repository's files (those git tracks or would), as GitHub fetches them at the pinned
  // ref: nothing built, no node_modules.
  actionPath = join(work, "action-checkout");
  const tracked = await runProcess("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: ROOT,
    timeoutMs: 30_000,
  });
  expect(tracked.code, tracked.stderr).toBe(0);
  for (const path of tracked.stdout.split("\0").filter(Boolean)) {
    if (!existsSync(join(ROOT, path))) continue;
    mkdirSync(dirname(join(actionPath, path)), { recursive: true });
    copyFileSync(join(ROOT, path), join(actionPath, path));
  }
  const prebuilds = join(work, "prebuilds");
  mkdirSync(prebuilds);
  const install = await runStep(installStep, {
    workspace: work,
    env: { ...(await localBetterSqlite3Prebuild(prebuilds)), npm_config_prefer_offline: "true" },
    timeoutMs: INSTALL_LIMIT_MS,
  });
  expect(install.code, `${install.stdout}\n${install.stderr}`).toBe(0);

  fake = await startFakeCratesIo({ timeoutMs: 300_000 });
  await fake.publish({ name: "alpha", vers: "1.0.0", pubtime: daysAgo(30) });
  await fake.publish({ name: "alpha", vers: "1.1.0", pubtime: daysAgo(2) });
  await fake.publish({ name: "beta", vers: "1.0.0", pubtime: null });
  dbWithBeta = join(work, "timestamps.sqlite");
  const db = new TimestampDatabase(dbWithBeta);
  db.record([{ crate: "beta", version: "1.0.0", publishedAt: daysAgo(30) }]);
  db.close();
}, INSTALL_LIMIT_MS + 60_000);

afterAll(async () => {
  await fake?.close();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe("the action's steps", () => {
  it("install only the runtime dependencies and esbuild, and build the CLI in the action's checkout", () => {
    const modules = readdirSync(join(actionPath, "node_modules"));
    expect(modules).toEqual(expect.arrayContaining(["better-sqlite3", "commander", "esbuild"]));
    for (const devOnly of ["vitest", "tsx", "typescript", "@fastly"]) expect(modules).not.toContain(devOnly);
    expect(existsSync(join(actionPath, "dist", "cli.mjs"))).toBe(true);
  });

  it("exit 0 when every pin is visible, saying so in the log and the step summary, leaving the workspace as it was", async () => {
    const workspace = workspaceWith([["alpha", "1.0.0"]]);
    const run = await check(workspace);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe("ok: all 1 crates.io pins are visible under /7d/\n");
    expect(run.summary).toBe("### crates-cooldown check: ok: all 1 crates.io pins are visible under /7d/\n\n");
    expect(readdirSync(workspace)).toEqual(["Cargo.lock"]);
    // The empty database it made for itself in RUNNER_TEMP is gone too.
    expect(readdirSync(join(work, "runner-temp")).filter((name) => name.startsWith("crates-cooldown-"))).toEqual([]);
  });

  it("exit 1 naming the pin that is too young, in the log and as a table row with when it clears", async () => {
    const run = await check(
      workspaceWith([
        ["alpha", "1.1.0"],
        ["alpha", "1.0.0"],
      ]),
    );
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/^alpha 1\.1\.0: too young \(published \S+Z\); clears at \S+Z\n/);
    const [heading, blank, header, rule, row, ...rest] = run.summary.split("\n");
    expect([heading, blank, header, rule]).toEqual([
      "### crates-cooldown check: 1 of 2 crates.io pins would not resolve under /7d/",
      "",
      "| pin | verdict | reason | clears at |",
      "| --- | --- | --- | --- |",
    ]);
    expect(row).toMatch(/^\| alpha 1\.1\.0 \| hidden \| too young \(published \S+Z\) \| \S+Z \|$/);
    expect(rest).toEqual(["", ""]);
  });

  it("exit 2 on a missing lockfile, with check's one-line error in the log and the step summary", async () => {
    const run = await check(workspaceWith([]), { lockfile: "no/Cargo.lock" });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: cannot read no\/Cargo\.lock: ENOENT\n$/);
    expect(run.summary).toBe(
      "### crates-cooldown check could not run\n\n```\nerror: cannot read no/Cargo.lock: ENOENT\n```\n\n",
    );
  });

  it("exit 2 on a format check does not know", async () => {
    const run = await check(workspaceWith([["alpha", "1.0.0"]]), { format: "xml" });
    expect(run.code).toBe(2);
    expect(run.summary).toMatch(/^### crates-cooldown check could not run\n\n```\nerror: .*xml/);
  });

  it("pass the lockfile, window, format, policy and db inputs on to check", async () => {
    const nested = await check(workspaceWith([["alpha", "1.0.0"]], "crates/app/Cargo.lock"), {
      lockfile: "crates/app/Cargo.lock",
    });
    expect(nested.code, nested.stderr).toBe(0);

    const young = workspaceWith([["alpha", "1.1.0"]]);
    const shortWindow = await check(young, { window: "1d" });
    expect(shortWindow.code, shortWindow.stderr).toBe(0);
    expect(shortWindow.stdout).toBe("ok: all 1 crates.io pins are visible under /1d/\n");

    const json = await check(young, { format: "json" });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ window: "7d", problems: 1, findings: [{ status: "too-young" }] });
    expect(json.summary).toContain("| alpha 1.1.0 | hidden | too young");

    const expires = new Date(Date.now() + 30 * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z");
    writeFileSync(
      join(young, "cooldown.toml"),
      `[[exception]]\ncrate = "alpha"\nversion = "1.1.0"\nreason = "reviewed"\nexpires = ${expires}\n`,
    );
    const excepted = await check(young, { policy: "cooldown.toml" });
    expect(excepted.code, excepted.stderr).toBe(0);

    const beta = workspaceWith([["beta", "1.0.0"]]);
    const unknownAge = await check(beta);
    expect(unknownAge.code).toBe(1);
    expect(unknownAge.stdout).toContain("beta 1.0.0: publish time unknown");
    const known = await check(beta, { db: dbWithBeta });
    expect(known.code, known.stderr).toBe(0);
  });
});
