/**
 * `kv push --service-id` against the built edge: the real push (SQLite → the fake Fastly API, whose KV writes land in
 * the local Compute host's KV store and whose purges purge the host's Core Cache by surrogate key, as Fastly's purge
 * API does at every POP) and the real wasm answering. A record or policy pushed with a purge applies at the next
 * request; without one, the edge keeps its cached answer until it ends (docs/fastly.md), which the control crate shows.
 * The host's clock stands still, so nothing here ends by time.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type Policy, readPolicy } from "../../src/core/policy-document.ts";
import { ANSWERS_SURROGATE_KEY, POLICY_SURROGATE_KEY } from "../../src/core/surrogate-keys.ts";
import { CRATES_IO_BACKEND } from "../../src/edge/backend-upstream.ts";
import { CONFIG_STORE } from "../../src/edge/edge-settings.ts";
import { PUBLISH_TIMES_STORE } from "../../src/edge/kv-publish-times.ts";
import { MAX_CRATES_PURGED_BY_NAME, pushToKv } from "../../src/kv/kv-push.ts";
import { TimestampDatabase } from "../../src/store/timestamp-database.ts";
import { type RunningComputeHost, startComputeHost } from "../compute-host/compute-host.ts";
import { cleanUpTestFolders, testFolder } from "../kv/kv-test-database.ts";
import { DAY, indexFile, versionsIn } from "../server/index-lines.ts";
import { sparseIndexPath } from "../support/fake-crates-io.ts";
import { type FakeFastlyApi, startFakeFastlyApi } from "../support/fake-fastly-api.ts";
import { FixtureUpstream } from "../support/fixture-upstream.ts";

const NOW = Math.floor(Date.parse("2026-09-21T12:00:00Z") / 1000);
const STORE = "kv-store-1";
const SERVICE = "edge-service-1";
const LIFETIME_MS = 120_000;

let upstream: FixtureUpstream;
let api: FakeFastlyApi;
let host: RunningComputeHost;
let database: TimestampDatabase;
const hostLog: string[] = [];

/** A file whose 1.0.0 line carries its pubtime and whose 1.1.0 line carries none: its age comes from KV alone. */
function serveUndated(name: string): void {
  upstream.set(`/${sparseIndexPath(name)}`, {
    body: indexFile(name, [{ vers: "1.0.0", publishedAt: NOW - 30 * DAY }, { vers: "1.1.0" }]),
    headers: { "cache-control": "public, max-age=86400" },
  });
}

async function visible(name: string): Promise<string[]> {
  const response = await fetch(`${host.url}7d/${sparseIndexPath(name)}`);
  const text = await response.text();
  expect(response.status, `${text}\n${hostLog.slice(-10).join("\n")}`).toBe(200);
  await host.settled();
  return versionsIn(text);
}

const push = (options: { purge?: boolean; policy?: Policy } = {}) =>
  pushToKv({
    database,
    storeId: STORE,
    token: api.token,
    apiUrl: api.url,
    ...(options.policy === undefined ? {} : { policy: options.policy }),
    ...(options.purge ? { purge: { serviceId: SERVICE, delayMs: 0 } } : {}),
  });

beforeAll(async () => {
  upstream = await FixtureUpstream.start({ lifetimeMs: LIFETIME_MS });
  api = await startFakeFastlyApi({ lifetimeMs: LIFETIME_MS });
  database = new TimestampDatabase(`${testFolder()}/timestamps.sqlite`);
  host = await startComputeHost({
    wasmPath: inject("edgeWasmPath"),
    listen: "127.0.0.1:0",
    backends: { [CRATES_IO_BACKEND]: { url: upstream.url } },
    kvStores: { [PUBLISH_TIMES_STORE]: {} },
    configStores: { [CONFIG_STORE]: { pre_pubtime_inference: "off" } },
    httpCache: "memory",
    clock: () => NOW * 1000,
    log: (line) => hostLog.push(line),
  });
  // What the API stores is what the edge's KV store holds; what it purges, the edge's cache loses.
  api.onBatchApplied = () => host.replaceKvStore(PUBLISH_TIMES_STORE, Object.fromEntries(api.store(STORE)));
  api.onPurge = (serviceId, keys) => {
    if (serviceId === SERVICE) for (const key of keys) host.purgeSurrogateKey(key);
  };
  for (const name of ["control", "purged", "excepted"]) {
    serveUndated(name);
    database.record([{ crate: name, version: "1.0.0", publishedAt: NOW - 30 * DAY }]);
  }
  await push();
}, 60_000);

afterAll(async () => {
  await host?.close();
  await api?.close();
  await upstream?.close();
  database?.close();
  cleanUpTestFolders();
});

describe("kv push --service-id against the edge under the local Compute host", () => {
  it("a pushed publish time shows at the next request with a purge, and not before the answer ends without one", async () => {
    expect(await visible("control")).toEqual(["1.0.0"]);
    expect(await visible("purged")).toEqual(["1.0.0"]);

    database.record([{ crate: "control", version: "1.1.0", publishedAt: NOW - 30 * DAY }]);
    const unpurged = await push();
    expect(unpurged.purge).toBeNull();
    expect(await visible("control")).toEqual(["1.0.0"]);

    database.record([{ crate: "purged", version: "1.1.0", publishedAt: NOW - 30 * DAY }]);
    const purged = await push({ purge: true });
    expect(purged.purge).toMatchObject({ keysPurged: 1, error: null });
    expect(await visible("purged")).toEqual(["1.0.0", "1.1.0"]);
    // Only the crates written lose their cached answers.
    expect(await visible("control")).toEqual(["1.0.0"]);
  });

  it("a push of more crates than it names purges every cached answer at once", async () => {
    // control's time is in the store since the first test, its answer still cached from before.
    expect(await visible("control")).toEqual(["1.0.0"]);
    database.record(
      Array.from({ length: MAX_CRATES_PURGED_BY_NAME + 1 }, (_, i) => ({
        crate: `bulk-${i}`,
        version: "1.0.0",
        publishedAt: NOW - 30 * DAY,
      })),
    );
    const summary = await push({ purge: true });
    expect(summary.purge).toMatchObject({ allAnswers: true, error: null });
    expect(api.purges.at(-1)?.keys).toEqual([ANSWERS_SURROGATE_KEY]);
    expect(await visible("control")).toEqual(["1.0.0", "1.1.0"]);
  });

  it("a pushed policy applies at the next request with a purge, not within its 30 s without one", async () => {
    database.record([{ crate: "excepted", version: "2.0.0", publishedAt: NOW - DAY }]);
    upstream.set(`/${sparseIndexPath("excepted")}`, {
      body: indexFile("excepted", [
        { vers: "1.0.0", publishedAt: NOW - 30 * DAY },
        { vers: "2.0.0", publishedAt: NOW - DAY },
      ]),
      headers: { "cache-control": "public, max-age=86400" },
    });
    expect(await visible("excepted")).toEqual(["1.0.0"]);
    const excepting = readPolicy({
      exception: [{ crate: "excepted", version: "2.0.0", reason: "needed now (SEC-2)", expires: "2026-12-31" }],
    });
    await push({ policy: excepting });
    expect(await visible("excepted")).toEqual(["1.0.0"]);
    await push({ policy: excepting, purge: true });
    expect(api.purges.at(-1)?.keys).toContain(POLICY_SURROGATE_KEY);
    expect(await visible("excepted")).toEqual(["1.0.0", "2.0.0"]);
  });
});
