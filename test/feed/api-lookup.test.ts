import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { lookUpCrateHistory } from "../../src/feed/api-lookup.ts";
import { parseVersionsPage } from "../../src/feed/crates-io-api.ts";
import { UserError } from "../../src/node/user-error.ts";
import { TimestampDatabase } from "../../src/store/timestamp-database.ts";
import { databaseContents, scratch } from "../support/dump-test-kit.ts";
import { type FakeApiVersion, type FakeCratesIoApi, startFakeCratesIoApi } from "../support/fake-crates-io-api.ts";

const NOW = Math.floor(Date.now() / 1000);
const DAY = 86_400;
const USER_AGENT = "crates-cooldown/0.0.0 (+ops@example.com)";

/** onering's history: alice, then trusted publishing from GitHub, then eve with a token two days ago. */
const ONERING: FakeApiVersion[] = [
  { num: "1.4.0", createdAt: NOW - 60 * DAY, publishedBy: [1, "alice"], trustpub: null },
  { num: "1.4.1", createdAt: NOW - 30 * DAY, publishedBy: null, trustpub: ["github", "onering-rs/onering"] },
  { num: "1.4.2", createdAt: NOW - 2 * DAY, publishedBy: [66, "eve"], trustpub: null },
];

let api: FakeCratesIoApi;
let dbPath: string;
let database: TimestampDatabase;
let waits: number[];
const sleep = async (ms: number) => {
  waits.push(ms);
};

beforeAll(async () => {
  api = await startFakeCratesIoApi();
});
afterAll(async () => {
  await api?.close();
});
beforeEach(() => {
  api.requests.length = 0;
  api.setCrate("onering", ONERING, 2);
  dbPath = join(scratch(), "t.sqlite");
  database = new TimestampDatabase(dbPath);
  waits = [];
  return () => database.close();
});

const lookUp = (crate = "onering", extra: { maxAttempts?: number } = {}) =>
  lookUpCrateHistory({ database, crate, apiBase: api.url, userAgent: USER_AGENT, sleep, ...extra });

describe("crates.io API lookups", () => {
  it("records every page's versions with their publishers, so the record carries the crate's trust signals", async () => {
    const summary = await lookUp();
    expect(summary).toEqual({ crate: "onering", requests: 2, versions: 3, publishersLearned: 3 });
    expect(api.requests.map((r) => r.path)).toEqual([
      "/api/v1/crates/onering/versions",
      "/api/v1/crates/onering/versions?per_page=2&seek=2",
    ]);
    expect(api.requests.every((r) => r.userAgent === USER_AGENT)).toBe(true);
    const record = database.recordFor("onering");
    expect(record?.versions.get("1.4.2")).toBe(NOW - 2 * DAY);
    expect(record?.trust?.signals.get("1.4.2")).toEqual([
      { signal: "new-publisher", by: "eve", earlier: ["alice"], earlierCount: 1 },
      {
        signal: "trusted-publishing-downgrade",
        by: "eve",
        previous: "1.4.1",
        via: "github: onering-rs/onering",
      },
    ]);
  });

  it("keeps its requests at least a second apart", async () => {
    await lookUpCrateHistory({ database, crate: "onering", apiBase: api.url, userAgent: USER_AGENT });
    const [first, second] = api.requests;
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(990);
  });

  it("waits out a 429's Retry-After and a 5xx's back-off, then goes on", async () => {
    api.failNext({ status: 429, retryAfter: "7" }, { status: 503 });
    const summary = await lookUp();
    expect(summary.requests).toBe(4);
    expect(waits.filter((ms) => ms > 1_000)).toEqual([7_000, 4_000]);
    expect(database.recordFor("onering")?.versions.size).toBe(3);
  });

  it.each([
    [
      "a server that keeps failing",
      [{ status: 500 }, { status: 502 }, { status: 500 }],
      /answered 500 for onering 3 times/,
    ],
    [
      "a malformed body",
      [{ status: 200, body: '{"versions":[{"num":"1.0.0"}]}' }],
      /malformed body for onering: version 1\.0\.0 has no RFC 3339 "created_at"/,
    ],
    ["a body that is not JSON", [{ status: 200, body: "<html>" }], /malformed body for onering: the body is not JSON/],
  ])("records nothing after %s, and says so in one line", async (_, faults, message) => {
    api.failNext(...faults);
    const before = databaseContents(dbPath);
    const error = await lookUp("onering", { maxAttempts: 3 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(message);
    expect(databaseContents(dbPath)).toEqual(before);
  });

  it("records nothing when a later page fails: an interrupted lookup is simply run again", async () => {
    api.failNext(
      { status: 200, body: JSON.stringify({ meta: { next_page: "?seek=2" }, versions: [] }) },
      { status: 404 },
    );
    await expect(lookUp()).rejects.toThrow('crates.io has no crate "onering" (API answered 404)');
    expect(database.recordFor("onering")).toBeNull();
    await lookUp();
    expect(database.recordFor("onering")?.versions.size).toBe(3);
  });

  it("says so for an unknown crate", async () => {
    await expect(lookUp("nope")).rejects.toThrow('crates.io has no crate "nope" (API answered 404)');
  });
});

describe("parseVersionsPage", () => {
  it("takes a version with neither publisher nor trustpub_data as trusted publishing after 2025-05, as no account before", () => {
    const page = parseVersionsPage(
      JSON.stringify({
        meta: { next_page: null, total: 2 },
        versions: [
          { num: "0.1.0", created_at: "2017-03-01T10:00:00.123456+00:00", published_by: null, trustpub_data: null },
          { num: "0.2.0", created_at: "2025-08-01T10:00:00+00:00", published_by: null, trustpub_data: null },
        ],
      }),
    );
    expect(page.versions.map((v) => [v.num, v.via])).toEqual([
      ["0.1.0", "no-account"],
      ["0.2.0", "trusted-publishing"],
    ]);
    expect(page.nextPage).toBeNull();
  });
});

describe("crates-cooldown ingest api (the CLI)", () => {
  it("refuses to run without a contact for crates.io, and looks up each crate with one", async () => {
    const { runCli } = await import("../support/cli-run.ts");
    const db = join(scratch(), "cli.sqlite");
    const { CRATES_COOLDOWN_CONTACT: _, ...env } = process.env;
    const refused = await runCli(["ingest", "api", "onering", "--api", api.url, "--db", db], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      "error: set CRATES_COOLDOWN_CONTACT to a URL or e-mail address: crates.io's API refuses clients without a contact\n",
    );
    const run = await runCli(["ingest", "api", "onering", "--api", api.url, "--db", db], {
      env: { ...env, CRATES_COOLDOWN_CONTACT: "ops@example.com" },
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe("ingest api: onering: 3 versions in 2 requests; 3 publishers learned\n");
    expect(api.requests.at(-1)?.userAgent).toMatch(/^crates-cooldown\/\S+ \(\+ops@example\.com\)$/);
  });

  it("keeps the requests of several crates a second apart, from one crate to the next", async () => {
    const { runCli } = await import("../support/cli-run.ts");
    const db = join(scratch(), "cli.sqlite");
    const env = { ...process.env, CRATES_COOLDOWN_CONTACT: "ops@example.com" };
    const run = await runCli(["ingest", "api", "onering", "onering", "--api", api.url, "--db", db], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(api.requests).toHaveLength(4);
    const gaps = api.requests.slice(1).map((r, k) => r.at - (api.requests[k]?.at ?? 0));
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(990);
  });
});
