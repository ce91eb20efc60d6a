import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadPolicyFile } from "../../src/node/policy-file.ts";
import { startCooldownServer } from "../../src/server/start-server.ts";
import { FixtureUpstream } from "../support/fixture-upstream.ts";
import { FixedClock } from "../support/in-memory-ports.ts";
import { CliProcess } from "./cli-process.ts";
import { send, testClient } from "./http-client.ts";
import { DAY, indexFile, versionsIn } from "./index-lines.ts";

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0) / 1000;
let directory: string;
let upstream: FixtureUpstream;

beforeEach(async () => {
  directory = mkdtempSync(join(tmpdir(), "cooldown-policy-"));
  upstream = await FixtureUpstream.start();
});
afterEach(async () => {
  await upstream.close();
  rmSync(directory, { recursive: true, force: true });
});
afterAll(async () => {
  await testClient.close();
});

const policyFile = (text: string) => {
  const path = join(directory, "policy.toml");
  writeFileSync(path, text);
  return path;
};

describe("serve --policy", () => {
  it("refuses to start, with one line naming the entry, when the policy is wrong", async () => {
    const path = policyFile('[[exception]]\ncrate = "serde"\nversion = "1.0.0"\nreason = "r"\n');
    const run = CliProcess.run([
      "serve",
      "--listen",
      "127.0.0.1:0",
      "--db",
      join(directory, "db.sqlite"),
      "--policy",
      path,
    ]);
    const { code } = await run.exited;
    expect(code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(
      `error: policy file ${path}: exception #1 (serde 1.0.0): missing "expires" (exceptions must end by themselves)\n`,
    );
  });

  it("refuses a file that is not TOML, naming the line", () => {
    expect(() => loadPolicyFile(policyFile('yanked = "keep"\n[[exception]\n'))).toThrow(/is not valid TOML at line 2/);
  });

  it("applies an exception until it expires, and lists it in /-/status, expired or not", async () => {
    upstream.set("/se/rd/serde", {
      body: indexFile("serde", [
        { vers: "1.0.0", publishedAt: NOW - 30 * DAY },
        { vers: "1.0.1", publishedAt: NOW - DAY },
      ]),
    });
    const clock = new FixedClock(NOW);
    const policy = loadPolicyFile(
      policyFile(
        '[[exception]]\ncrate = "serde"\nversion = "1.0.1"\nreason = "needed now"\nexpires = 2026-11-23T00:00:00Z\n',
      ),
    );
    const server = await startCooldownServer({
      listen: "127.0.0.1:0",
      upstream: upstream.url,
      dbPath: join(directory, "db.sqlite"),
      quiet: true,
      clock,
      policy,
    });
    try {
      expect(versionsIn((await send(`${server.url}7d/se/rd/serde`)).body.toString())).toEqual(["1.0.0", "1.0.1"]);
      let status = JSON.parse((await send(`${server.url}-/status`)).body.toString());
      expect(status.rules.exceptions).toEqual([
        { crate: "serde", version: "1.0.1", reason: "needed now", expires: "2026-11-23T00:00:00Z", expired: false },
      ]);
      clock.at = Date.UTC(2026, 10, 23) / 1000;
      expect(versionsIn((await send(`${server.url}7d/se/rd/serde`)).body.toString())).toEqual(["1.0.0"]);
      status = JSON.parse((await send(`${server.url}-/status`)).body.toString());
      expect(status.rules.exceptions[0].expired).toBe(true);
    } finally {
      await server.close();
    }
  });

  it("keeps yanked lines under yanked = keep", async () => {
    upstream.set("/se/rd/serde", {
      body: indexFile("serde", [{ vers: "1.0.0", publishedAt: NOW - 30 * DAY, yanked: true }]),
    });
    const policy = loadPolicyFile(policyFile('yanked = "keep"\n'));
    const server = await startCooldownServer({
      listen: "127.0.0.1:0",
      upstream: upstream.url,
      dbPath: join(directory, "db.sqlite"),
      quiet: true,
      clock: new FixedClock(NOW),
      policy,
    });
    try {
      expect(versionsIn((await send(`${server.url}7d/se/rd/serde`)).body.toString())).toEqual(["1.0.0"]);
    } finally {
      await server.close();
    }
  });

  it("decides under a new policy from the next request, never replaying answers recorded under the old one", async () => {
    upstream.set("/se/rd/serde", {
      body: indexFile("serde", [
        { vers: "1.0.0", publishedAt: NOW - 30 * DAY },
        { vers: "1.0.1", publishedAt: NOW - DAY },
      ]),
    });
    const server = await startCooldownServer({
      listen: "127.0.0.1:0",
      upstream: upstream.url,
      dbPath: join(directory, "db.sqlite"),
      quiet: true,
      clock: new FixedClock(NOW),
    });
    try {
      // The answer is recorded in the replay cache (for its max-age) and would be replayed as it was.
      expect(versionsIn((await send(`${server.url}7d/se/rd/serde`)).body.toString())).toEqual(["1.0.0"]);
      server.usePolicy(
        loadPolicyFile(
          policyFile(
            '[[exception]]\ncrate = "serde"\nversion = "1.0.1"\nreason = "needed now"\nexpires = 2026-11-23T00:00:00Z\n',
          ),
        ),
      );
      expect(versionsIn((await send(`${server.url}7d/se/rd/serde`)).body.toString())).toEqual(["1.0.0", "1.0.1"]);
      const status = JSON.parse((await send(`${server.url}-/status`)).body.toString());
      expect(status.rules.exceptions.map((e: { version: string }) => e.version)).toEqual(["1.0.1"]);
      server.usePolicy(loadPolicyFile(policyFile("")));
      expect(versionsIn((await send(`${server.url}7d/se/rd/serde`)).body.toString())).toEqual(["1.0.0"]);
    } finally {
      await server.close();
    }
  });

  it("reads the policy file again on SIGHUP, and keeps the previous policy when the file no longer reads", async () => {
    upstream.set("/se/rd/serde", {
      body: indexFile("serde", [
        { vers: "1.0.0", publishedAt: NOW - 30 * DAY },
        { vers: "1.0.1", publishedAt: Date.now() / 1000 - DAY },
      ]),
    });
    const path = policyFile('yanked = "hide"\n');
    const run = CliProcess.run([
      "serve",
      "--listen",
      "127.0.0.1:0",
      "--upstream",
      upstream.url,
      "--db",
      join(directory, "db.sqlite"),
      "--quiet",
      "--policy",
      path,
    ]);
    try {
      const base = (await run.firstLine()).replace("listening on ", "");
      expect(versionsIn((await send(`${base}7d/se/rd/serde`)).body.toString())).toEqual(["1.0.0"]);
      const expires = new Date(Date.now() + 7 * DAY * 1000).toISOString().replace(/\.\d+Z$/, "Z");
      writeFileSync(
        path,
        `[[exception]]\ncrate = "serde"\nversion = "1.0.1"\nreason = "needed now"\nexpires = ${expires}\n`,
      );
      run.child.kill("SIGHUP");
      await until(() => run.stderr.includes("SIGHUP: policy read again"));
      expect(versionsIn((await send(`${base}7d/se/rd/serde`)).body.toString())).toEqual(["1.0.0", "1.0.1"]);
      writeFileSync(path, "[[exception]\n");
      run.child.kill("SIGHUP");
      await until(() => run.stderr.includes("SIGHUP: policy NOT changed"));
      expect(run.stderr).toContain(`is not valid TOML at line 1`);
      expect(versionsIn((await send(`${base}7d/se/rd/serde`)).body.toString())).toEqual(["1.0.0", "1.0.1"]);
      expect(run.child.exitCode).toBeNull();
    } finally {
      await run.stop();
    }
  });

  it("survives SIGHUP without --policy, saying there is nothing to read", async () => {
    const run = CliProcess.run([
      "serve",
      "--listen",
      "127.0.0.1:0",
      "--upstream",
      upstream.url,
      "--db",
      join(directory, "db.sqlite"),
      "--quiet",
    ]);
    try {
      const base = (await run.firstLine()).replace("listening on ", "");
      run.child.kill("SIGHUP");
      await until(() => run.stderr.includes("SIGHUP: no --policy file to read again; nothing changed"));
      expect((await send(`${base}-/status`)).status).toBe(200);
      expect(run.child.exitCode).toBeNull();
    } finally {
      await run.stop();
    }
  });
});

/** Waits (at most 5 s) for a condition that a child process brings about. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out waiting for the child process");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
