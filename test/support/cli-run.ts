import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach } from "vitest";

const CLI = fileURLToPath(new URL("../../bin/crates-cooldown.js", import.meta.url));

/** How a `crates-cooldown` run ended, and what it wrote. */
export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliRunOptions {
  /** The whole environment of the run (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
  /** Decides, from the output so far, when to send SIGTERM (a long-running command such as `ingest watch`). */
  readonly until?: (stdout: string) => boolean;
  /** Sees the child as soon as it is spawned (to signal it from the test). */
  readonly onStart?: (child: ChildProcess) => void;
  /** Killed, and the run rejected with its output, after this long (default 60 s). */
  readonly timeoutMs?: number;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

/** `node bin/crates-cooldown.js …args` to its end, with its output collected; a child left running dies after the test. */
export function runCli(args: readonly string[], options: CliRunOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: options.env ?? process.env,
    });
    children.push(child);
    let stdout = "";
    let stderr = "";
    let signalled = false;
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      if (!signalled && options.until?.(stdout)) {
        signalled = true;
        child.kill("SIGTERM");
      }
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(`crates-cooldown ${args.join(" ")} did not finish in time\nstdout: ${stdout}\nstderr: ${stderr}`),
      );
    }, options.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    options.onStart?.(child);
  });
}
