#!/usr/bin/env node
// The check step of action.yml: `crates-cooldown check` with the action's inputs, the report in the log in the chosen
// format and as a Markdown table in $GITHUB_STEP_SUMMARY, and check's exit code as the step's (0 every pin visible,
// 1 some pin would not resolve, 2 bad input). A composite action's inputs reach a step only as the `env` it maps them
// to: action.yml maps each input to INPUT_<NAME>, as GitHub itself does for JavaScript actions.
import { spawn } from "node:child_process";
import { appendFileSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../bin/crates-cooldown.js", import.meta.url));

/** An input as action.yml passes it; empty when unset. */
function input(name) {
  return (process.env[`INPUT_${name.toUpperCase()}`] ?? "").trim();
}

const summary = process.env.GITHUB_STEP_SUMMARY ?? "";
// Without a database of its own, an empty one outside the workspace, removed afterwards: check leaves no file behind.
const scratch = input("db") === "" ? mkdtempSync(join(process.env.RUNNER_TEMP || tmpdir(), "crates-cooldown-")) : null;
const args = [
  BIN,
  "check",
  input("lockfile") || "Cargo.lock",
  "--window",
  input("window") || "7d",
  "--format",
  input("format") || "text",
  "--db",
  scratch === null ? input("db") : join(scratch, "timestamps.sqlite"),
];
if (input("upstream") !== "") args.push("--upstream", input("upstream"));
if (input("policy") !== "") args.push("--policy", input("policy"));
if (summary !== "") args.push("--markdown", summary);

function summarySize() {
  try {
    return statSync(summary).size;
  } catch {
    return 0;
  }
}
const sizeBefore = summary === "" ? 0 : summarySize();

const child = spawn(process.execPath, args, { stdio: ["ignore", "inherit", "pipe"] });
let stderr = "";
child.stderr.setEncoding("utf8").on("data", (chunk) => {
  stderr += chunk;
  process.stderr.write(chunk);
});
child.on("error", (error) => {
  process.stderr.write(`crates-cooldown could not be started: ${error.message}\n`);
  process.exitCode = 2;
});
child.on("close", (code, signal) => {
  if (scratch !== null) rmSync(scratch, { recursive: true, force: true });
  const exitCode = code ?? 2;
  // A finished check appended its table; when it did not (bad input, a crash, a signal), the summary says why instead.
  if (summary !== "" && exitCode !== 0 && summarySize() === sizeBefore) {
    const why = stderr.trim() || (signal === null ? `exit code ${exitCode}` : `killed by ${signal}`);
    appendFileSync(
      summary,
      `### crates-cooldown check could not run\n\n\`\`\`\n${why.replaceAll("```", "'''")}\n\`\`\`\n\n`,
    );
  }
  process.exitCode = exitCode;
});
