import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../bin/crates-cooldown.js", import.meta.url));

/** `node bin/crates-cooldown.js …` as a child process, with its output collected. */
export class CliProcess {
  stdout = "";
  stderr = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (this.stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (this.stderr += chunk));
    this.exited = once(child, "exit").then(
      ([code, signal]) => ({ code, signal }) as { code: number | null; signal: NodeJS.Signals | null },
    );
  }

  static run(args: readonly string[]): CliProcess {
    return new CliProcess(spawn(process.execPath, [BIN, ...args], { stdio: "pipe" }));
  }

  /** The first stdout line, once written (rejects if the process exits first). */
  async firstLine(): Promise<string> {
    while (!this.stdout.includes("\n")) {
      const exited = this.exited.then(() => "exited" as const);
      const data = once(this.child.stdout, "data").then(() => "data" as const);
      if ((await Promise.race([data, exited])) === "exited" && !this.stdout.includes("\n")) {
        throw new Error(`exited before printing a line; stderr: ${this.stderr}`);
      }
    }
    return this.stdout.slice(0, this.stdout.indexOf("\n"));
  }

  /** Kills the process if it is still running (test cleanup). */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill("SIGKILL");
      await this.exited;
    }
  }
}
