import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { startCooldownServer } from "../../src/server/start-server.ts";
import { loadPolicyFile } from "../../src/server/policy-file.ts";
import { FixedClock } from "../support/in-memory-ports.ts";
import { CliProcess } from "./cli-process.ts";
import { FixtureUpstream } from "./fixture-upstream.ts";
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
    const run = CliProcess.run(["serve", "--listen", "127.0.0.1:0", "--db", join(directory, "db.sqlite"), "--policy", path]);
    const { code } = await run.exited;
    expect(code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(`error: policy file ${path}: exception #1 (serde 1.0.0): missing "expires" (exceptions must end by themselves)\n`);
  });

  it("refuses a file that is not TOML, naming the line", () => {
    expect(() => loadPolicyFile(policyFile('yanked = "keep"\n[[exception]\n'))).toThrow(/is not valid TOML at line 2/);
  });

  it("applies an exception until it expires, and lists it in /-/status, expired or not", async () => {
    upstream.set("/se/rd/serde", { body: indexFile("serde", [{ vers: "1.0.0", publishedAt: NOW - 30 * DAY }, { vers: "1.0.1", publishedAt: NOW - DAY }]) });
    const clock = new FixedClock(NOW);
    const policy = loadPolicyFile(policyFile('[[exception]]\ncrate = "serde"\nversion = "1.0.1"\nreason = "needed now"\nexpires = 2026-11-23T00:00:00Z\n'));
    const server = await startCooldownServer({ listen: "127.0.0.1:0", upstream: upstream.url, dbPath: join(directory, "db.sqlite"), quiet: true, clock, policy });
    try {
      expect(versionsIn((await send(`${server.url}7d/se/rd/serde`)).body.toString())).toEqual(["1.0.0", "1.0.1"]);
      let status = JSON.parse((await send(`${server.url}-/status`)).body.toString());
      expect(status.rules.exceptions).toEqual([{ crate: "serde", version: "1.0.1", reason: "needed now", expires: "2026-11-23T00:00:00Z", expired: false }]);
      clock.at = Date.UTC(2026, 10, 23) / 1000;
      expect(versionsIn((await send(`${server.url}7d/se/rd/serde`)).body.toString())).toEqual(["1.0.0"]);
      status = JSON.parse((await send(`${server.url}-/status`)).body.toString());
      expect(status.rules.exceptions[0].expired).toBe(true);
    } finally {
      await server.close();
    }
  });

  it("keeps yanked lines under yanked = keep", async () => {
    upstream.set("/se/rd/serde", { body: indexFile("serde", [{ vers: "1.0.0", publishedAt: NOW - 30 * DAY, yanked: true }]) });
    const policy = loadPolicyFile(policyFile('yanked = "keep"\n'));
    const server = await startCooldownServer({ listen: "127.0.0.1:0", upstream: upstream.url, dbPath: join(directory, "db.sqlite"), quiet: true, clock: new FixedClock(NOW), policy });
    try {
      expect(versionsIn((await send(`${server.url}7d/se/rd/serde`)).body.toString())).toEqual(["1.0.0"]);
    } finally {
      await server.close();
    }
  });
});
