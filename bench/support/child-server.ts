import { type ChildProcess, fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * A server under test in its own process, so the load generator and the server never share an event loop or a
 * JIT. The child is started through the project's tsx launcher, reports `{listening: url}` over IPC, and exits by
 * itself when the parent disconnects (or dies), which also lets `--cpu-prof` write its profile.
 */
export interface ChildServer {
  readonly url: string;
  readonly process: ChildProcess;
  send(message: unknown): Promise<void>;
  /**
   * CPU seconds the child has used so far (all its threads), or null where /proc is absent. Other load on the
   * machine stretches a run's wall time but not the CPU the server spent per request.
   */
  cpuSeconds(): number | null;
  stop(): Promise<void>;
}

/** Linux reports process times in USER_HZ ticks, 100 per second on every mainstream architecture. */
const TICKS_PER_SECOND = 100;

/** Messages children send; `ready` answers a parent message that needed work before serving. */
export type ChildMessage = { listening: string } | { ready: true };

const RUN_TS = fileURLToPath(new URL("../../bin/run-ts.js", import.meta.url));

export async function startChildServer(
  script: string,
  args: readonly string[],
  options: { execArgv?: string[] } = {},
): Promise<ChildServer> {
  const child = fork(RUN_TS, [fileURLToPath(new URL(script, import.meta.url)), ...args], {
    execArgv: options.execArgv ?? [],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`${script} exited (${code}) before listening`)));
    child.on("message", (message: ChildMessage) => {
      if ("listening" in message) resolve(message.listening);
    });
  });
  child.removeAllListeners("exit");
  return {
    url,
    process: child,
    send: (message) =>
      new Promise((resolve) => {
        const onMessage = (reply: ChildMessage) => {
          if ("ready" in reply) {
            child.off("message", onMessage);
            resolve();
          }
        };
        child.on("message", onMessage);
        child.send(message as object);
      }),
    cpuSeconds: () => {
      try {
        // Fields after the command name (which is in parentheses and may hold spaces): utime is the 12th, stime the 13th.
        const fields = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
        return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
      } catch {
        return null;
      }
    },
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.disconnect();
        // A child that does not leave on its own within 10 s is stopped; the benchmark must never hang.
        setTimeout(() => child.kill("SIGKILL"), 10_000).unref();
      }),
  };
}

/** For children: leave as soon as the parent is gone, after `cleanup`. */
export function exitWhenParentLeaves(cleanup: () => Promise<void>): void {
  process.on("disconnect", () => {
    void cleanup().finally(() => process.exit(0));
  });
}
