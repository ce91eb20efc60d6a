import type { ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FRESHNESS_KV_KEY } from "../../src/core/freshness.ts";
import { crateSurrogateKey } from "../../src/core/surrogate-keys.ts";
import { countPendingCrates } from "../../src/store/kv-push-ledger.ts";
import { TimestampDatabase } from "../../src/store/timestamp-database.ts";
import { type CliRun, runCli } from "../support/cli-run.ts";
import { type FakeFastlyApi, startFakeFastlyApi } from "../support/fake-fastly-api.ts";
import {
  cleanUpTestFolders,
  crateEntries,
  databaseWithCrates,
  expectedKvValues,
  testFolder,
} from "./kv-test-database.ts";

/** Runs `node bin/crates-cooldown.js …` with FASTLY_API_TOKEN set to `token` (unset when null). */
function runKvCli(args: string[], token: string | null, onStart?: (child: ChildProcess) => void): Promise<CliRun> {
  const env = { ...process.env };
  delete env.FASTLY_API_TOKEN;
  if (token !== null) env.FASTLY_API_TOKEN = token;
  return runCli(args, { env, timeoutMs: 25_000, ...(onStart ? { onStart } : {}) });
}

const apis: FakeFastlyApi[] = [];
afterEach(async () => {
  for (const api of apis.splice(0)) await api.close();
  cleanUpTestFolders();
});

async function fakeApi() {
  const api = await startFakeFastlyApi();
  apis.push(api);
  return api;
}

/** A database file with `count` crates, closed so the CLI has it to itself. */
function databaseFile(count: number): string {
  const { path, database } = databaseWithCrates(count);
  database.close();
  return path;
}

function withDatabase<T>(path: string, use: (database: TimestampDatabase) => T): T {
  const database = new TimestampDatabase(path);
  try {
    return use(database);
  } finally {
    database.close();
  }
}

describe("crates-cooldown kv (the CLI)", () => {
  it("kv push without FASTLY_API_TOKEN says so in one line and exits 2", async () => {
    const run = await runKvCli(["kv", "push", "--store-id", "s", "--db", databaseFile(1)], null);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^error: FASTLY_API_TOKEN is not set/)]);
  });

  it("kv push writes the database to the store, logs progress lines off a terminal, ends with a one-line summary and never prints the token", async () => {
    const api = await fakeApi();
    const db = databaseFile(60);
    const run = await runKvCli(
      ["kv", "push", "--store-id", "s", "--api", api.url, "--db", db, "--batch-lines", "25"],
      api.token,
    );
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split("\n")).toEqual([
      expect.stringMatching(
        /^kv push to store s: 60 of 60 crates sent in 4 batch requests, 0 retries, 0 rejected, freshness key written; [\d.]+ s \(preparing [\d.]+ s, sending [\d.]+ s\)$/,
      ),
    ]);
    expect(run.stderr).toContain("kv push: 60 crates to send");
    expect(run.stdout + run.stderr).not.toContain(api.token);
    withDatabase(db, (database) => expect(crateEntries(api.store("s"))).toEqual(expectedKvValues(database)));
  });

  it("kv push with a token the API refuses exits 1 with one error line that names the variable, not the token", async () => {
    const api = await fakeApi();
    const wrong = "wrong-secret-token-42";
    const run = await runKvCli(["kv", "push", "--store-id", "s", "--api", api.url, "--db", databaseFile(3)], wrong);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: the Fastly API refused the token \(401\): check that FASTLY_API_TOKEN/m);
    expect(run.stdout + run.stderr).not.toContain(wrong);
  });

  it("kv push --service-id purges the edge's cached answers of the crates it sent and says so in its summary", async () => {
    const api = await fakeApi();
    const run = await runKvCli(
      ["kv", "push", "--store-id", "s", "--api", api.url, "--db", databaseFile(5), "--service-id", "svc-1"],
      api.token,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/freshness key written, purged 5 surrogate keys of service svc-1 in 1 requests; /);
    expect(api.purges).toEqual([
      {
        serviceId: "svc-1",
        keys: ["crate-000", "crate-001", "crate-002", "crate-003", "crate-004"].map(crateSurrogateKey),
        status: 200,
      },
    ]);
  });

  it("kv push whose purge the API refuses exits 1, says the records were written and when they apply", async () => {
    const api = await fakeApi();
    api.scriptPurges({ kind: "status", status: 403, body: '{"msg":"insufficient scope"}' });
    const db = databaseFile(2);
    const run = await runKvCli(
      ["kv", "push", "--store-id", "s", "--api", api.url, "--db", db, "--service-id", "svc-1"],
      api.token,
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("purge of service svc-1 failed after 0 keys");
    expect(run.stderr).toMatch(
      /^error: purge failed: the Fastly API refused to purge service svc-1 \(403\): the token needs the purge_select scope on it: \{"msg":"insufficient scope"\}; the records were written and apply at the edge as its cached answers end instead \(within upstream_max_ttl_seconds, 60 s by default; a policy within 30 s\)$/m,
    );
    withDatabase(db, (database) => expect(countPendingCrates(database, "s")).toBe(0));
  });

  it("kv push --service-id with an empty ID refuses to start", async () => {
    const api = await fakeApi();
    const run = await runKvCli(
      ["kv", "push", "--store-id", "s", "--api", api.url, "--db", databaseFile(1), "--service-id", " "],
      api.token,
    );
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe("error: --service-id is empty; expected a Fastly service ID (fastly service list)");
    expect(api.batches).toEqual([]);
  });

  it("kv push stopped by a rate limit that resets too late exits 75 and says when to run again", async () => {
    const api = await fakeApi();
    const resetAt = Math.floor(Date.now() / 1000) + 7_200;
    api.script({ kind: "rate-limit", resetAt });
    const run = await runKvCli(
      ["kv", "push", "--store-id", "s", "--api", api.url, "--db", databaseFile(3), "--max-wait", "60"],
      api.token,
    );
    expect(run.code).toBe(75);
    expect(run.stderr).toContain(
      `the limit resets at ${new Date(resetAt * 1000 + 1000).toISOString()}, run it again after that (3 crates still to send`,
    );
  });

  it("kv push interrupted (SIGINT) while waiting for a rate limit stops at once, saying a rerun finishes the job", async () => {
    const api = await fakeApi();
    api.script({ kind: "rate-limit", resetAt: Math.floor(Date.now() / 1000) + 30 });
    let child: ChildProcess | undefined;
    // The limit resets in 30 s, the test's timeout: only a push that stops at the signal lets the test finish.
    const waitForFirstAnswer = setInterval(() => {
      if (api.batches.length > 0) {
        clearInterval(waitForFirstAnswer);
        setTimeout(() => child?.kill("SIGINT"), 200);
      }
    }, 20);
    const run = await runKvCli(
      ["kv", "push", "--store-id", "s", "--api", api.url, "--db", databaseFile(3)],
      api.token,
      (c) => (child = c),
    );
    clearInterval(waitForFirstAnswer);
    expect(run.code).toBe(130);
    expect(run.stderr).toContain(
      "kv push interrupted: crates accepted so far are marked pushed; run it again to finish",
    );
  });

  it("kv push killed outright mid-push loses nothing: the next run sends only what was not marked pushed", async () => {
    const api = await fakeApi();
    const db = databaseFile(200);
    let child: ChildProcess | undefined;
    api.onBatchApplied = (n) => {
      if (n === 4) child?.kill("SIGKILL");
    };
    const killed = await runKvCli(
      ["kv", "push", "--store-id", "s", "--api", api.url, "--db", db, "--batch-lines", "20"],
      api.token,
      (c) => (child = c),
    );
    expect(killed.signal).toBe("SIGKILL");
    api.onBatchApplied = null;
    const marked = withDatabase(
      db,
      (database) => new Set(database.db.prepare("SELECT crate FROM kv_pushed").pluck().all() as string[]),
    );
    expect(marked.size).toBeGreaterThanOrEqual(60);
    expect(marked.size).toBeLessThan(200);
    withDatabase(db, (database) => expect(countPendingCrates(database, "s")).toBe(200 - marked.size));

    const before = api.batches.length;
    const resumed = await runKvCli(
      ["kv", "push", "--store-id", "s", "--api", api.url, "--db", db, "--batch-lines", "20"],
      api.token,
    );
    expect(resumed.code).toBe(0);
    const resent = api.batches
      .slice(before)
      .flatMap((batch) => batch.keys)
      .filter((key) => key !== FRESHNESS_KV_KEY);
    expect(resent.filter((key) => marked.has(key))).toEqual([]);
    expect(resent).toHaveLength(200 - marked.size);
    withDatabase(db, (database) => expect(crateEntries(api.store("s"))).toEqual(expectedKvValues(database)));
  });

  it("kv export writes the store as the JSON file fastly.toml's local server reads", async () => {
    const db = databaseFile(20);
    const out = join(testFolder(), "local-kv-store.json");
    const run = await runKvCli(["kv", "export", "--out", out, "--db", db], null);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^kv export: 20 crates and the freshness key written to /);
    const file = JSON.parse(readFileSync(out, "utf8")) as Record<string, string>;
    expect(Object.keys(file)).toContain(FRESHNESS_KV_KEY);
    withDatabase(db, (database) =>
      expect(crateEntries(new Map(Object.entries(file)))).toEqual(expectedKvValues(database)),
    );
  });

  it("kv push and kv export refuse a database that does not exist, in one line", async () => {
    const missing = join(testFolder(), "nope.sqlite");
    const push = await runKvCli(["kv", "push", "--store-id", "s", "--db", missing], "t0ken");
    const exported = await runKvCli(["kv", "export", "--out", join(testFolder(), "x.json"), "--db", missing], null);
    for (const run of [push, exported]) {
      expect(run.code).toBe(1);
      expect(run.stderr.trim().split("\n")).toEqual([
        `error: no timestamp database at ${missing}; run \`crates-cooldown ingest dump\` first or pass --db`,
      ]);
    }
    expect(existsSync(missing)).toBe(false);
  });
});
