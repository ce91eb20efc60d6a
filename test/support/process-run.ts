import { type ChildProcess, spawn } from "node:child_process";
import { afterAll } from "vitest";

/** How a child process ended, and what it wrote. */
export interface ProcessRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ProcessRunOptions {
  readonly cwd?: string;
  /** The whole environment (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
  /** Run as this user and group (only root may). */
  readonly uid?: number;
  readonly gid?: number;
  /** Sees the child as soon as it is spawned, and each chunk of stdout so far (to talk to or signal it). */
  readonly onStdout?: (stdout: string, child: ChildProcess) => void;
  /** Killed, and the run rejected with its output, after this long. */
  readonly timeoutMs: number;
}

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

/** Runs `command args…` (no shell) to its end, with its output collected; bounded by `timeoutMs`. */
export function runProcess(command: string, args: readonly string[], options: ProcessRunOptions): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
      ...(options.uid === undefined ? {} : { uid: options.uid }),
      ...(options.gid === undefined ? {} : { gid: options.gid }),
    });
    children.push(child);
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      options.onStdout?.(stdout, child);
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} ${args.join(" ")} did not finish in time\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * This process's environment for a nested `npm` working on another project: without what an enclosing `npm test`
 * exported about its own (`npm_config_local_prefix`, `npm_config_prefix`, `npm_package_json`, `INIT_CWD`), so the
 * nested npm can only ever see the directory it is run in.
 */
export function environmentForNpm(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const name of ["npm_config_local_prefix", "npm_config_prefix", "npm_package_json", "INIT_CWD"]) delete env[name];
  return env;
}
