import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const EXAMPLES = join(ROOT, "examples");
const CLI = join(ROOT, "bin", "crates-cooldown.js");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) =>
    statSync(join(dir, name)).isDirectory() ? files(join(dir, name)) : [join(dir, name)],
  );
}

/** Every `crates-cooldown.js <command> [<subcommand>] --flags…` written in the examples. */
function invocations(): { file: string; command: string; flags: string[] }[] {
  return files(EXAMPLES).flatMap((file) =>
    [...readFileSync(file, "utf8").matchAll(/crates-cooldown\.js ((?:ingest|kv) [a-z]+|serve)([^\n>]*)/g)].map((m) => ({
      file: file.slice(ROOT.length),
      command: m[1] as string,
      flags: [...(m[2] as string).matchAll(/(--[a-z][a-z-]*)/g)].map((f) => f[1] as string),
    })),
  );
}

describe("examples/", () => {
  it("schedules the one-shot commands and kv push from cron, systemd and GitHub Actions", () => {
    const workflow = readFileSync(join(EXAMPLES, "github-workflow-ingest.yml"), "utf8");
    for (const command of ["ingest dump", "ingest feed", "kv push"])
      expect(workflow).toContain(`crates-cooldown.js ${command}`);
    expect(workflow).toMatch(/schedule:\n\s+- cron:/);
    expect(readFileSync(join(EXAMPLES, "crontab"), "utf8")).toMatch(/^\*\/5 \* \* \* \* .*ingest feed/m);
    expect(readdirSync(join(EXAMPLES, "systemd")).sort()).toEqual([
      "crates-cooldown-dump.service",
      "crates-cooldown-dump.timer",
      "crates-cooldown-feed.service",
      "crates-cooldown-feed.timer",
      "crates-cooldown-serve.service",
      "crates-cooldown-watch.service",
    ]);
  });

  it("runs serve under systemd with hardening, reload on SIGHUP, and the database the job's units write", () => {
    const unit = (name: string) => readFileSync(join(EXAMPLES, "systemd", name), "utf8");
    const serve = unit("crates-cooldown-serve.service");
    const dbOf = (text: string) => /--db (\S+)/.exec(text)?.[1];
    expect(serve).toMatch(/^ExecStart=\S*node bin\/crates-cooldown\.js serve /m);
    expect(serve).toMatch(/^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    for (const setting of ["NoNewPrivileges=yes", "ProtectSystem=strict", "StateDirectory=crates-cooldown"])
      expect(serve).toContain(`\n${setting}\n`);
    const user = /^User=(\S+)$/m.exec(serve)?.[1];
    for (const job of [
      "crates-cooldown-dump.service",
      "crates-cooldown-feed.service",
      "crates-cooldown-watch.service",
    ]) {
      expect(dbOf(unit(job))).toBe(dbOf(serve));
      expect(/^User=(\S+)$/m.exec(unit(job))?.[1]).toBe(user);
    }
    expect(dbOf(serve)?.startsWith(`/var/lib/${/^StateDirectory=(\S+)$/m.exec(serve)?.[1]}/`)).toBe(true);
    // systemd waits longer than the drain (5 s, gone within 6 s) before it kills.
    expect(Number(/^TimeoutStopSec=(\d+)s$/m.exec(serve)?.[1])).toBeGreaterThan(6);
  });

  it("uses only subcommands and flags the CLI has", () => {
    const found = invocations();
    expect(found.length).toBeGreaterThan(8);
    const help = new Map<string, string>();
    for (const { file, command, flags } of found) {
      if (!help.has(command))
        help.set(
          command,
          execFileSync(process.execPath, [CLI, ...command.split(" "), "--help"], { encoding: "utf8", timeout: 30_000 }),
        );
      for (const flag of flags)
        expect(`${file}: ${command} ${help.get(command)?.includes(`${flag} `) ? flag : `${flag} (unknown)`}`).toBe(
          `${file}: ${command} ${flag}`,
        );
    }
  });
});
