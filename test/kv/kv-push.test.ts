import { afterEach, describe, expect, it } from "vitest";
import { decodeFreshness, FRESHNESS_KV_KEY } from "../../src/core/freshness.ts";
import { crateNameProblem } from "../../src/core/index-path.ts";
import { decodeCrateRecord } from "../../src/core/publish-times.ts";
import { ANSWERS_SURROGATE_KEY, crateSurrogateKey, POLICY_SURROGATE_KEY } from "../../src/core/surrogate-keys.ts";
import {
  DEFAULT_PURGE_DELAY_MS,
  type KvPushOptions,
  MAX_CRATES_PURGED_BY_NAME,
  pushToKv,
} from "../../src/kv/kv-push.ts";
import type { RetryPolicy } from "../../src/node/retry.ts";
import { countPendingCrates } from "../../src/store/kv-push-ledger.ts";
import { META_KEYS } from "../../src/store/meta-keys.ts";
import { type FakeFastlyApi, startFakeFastlyApi } from "../support/fake-fastly-api.ts";
import {
  cleanUpTestFolders,
  crateEntries,
  crateName,
  databaseWithCrates,
  expectedKvValues,
} from "./kv-test-database.ts";

const STORE = "store-1";
const FAST_RETRIES: RetryPolicy = { maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 20, maxWaitMs: 5_000, maxWaits: 3 };

const opened: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of opened.splice(0).reverse()) await thing.close();
  cleanUpTestFolders();
});

async function setUp(crates: number, options: Parameters<typeof startFakeFastlyApi>[0] = {}) {
  const api = await startFakeFastlyApi(options);
  const { database } = databaseWithCrates(crates);
  opened.push(api, database);
  const push = (extra: Partial<KvPushOptions> = {}) =>
    pushToKv({ database, storeId: STORE, token: api.token, apiUrl: api.url, retryPolicy: FAST_RETRIES, ...extra });
  return { api, database, push };
}

const keysSent = (api: FakeFastlyApi, fromBatch = 0) => api.batches.slice(fromBatch).flatMap((batch) => batch.keys);
const crateKeysSent = (api: FakeFastlyApi, fromBatch = 0) =>
  keysSent(api, fromBatch).filter((key) => key !== FRESHNESS_KV_KEY);

describe("kv push", () => {
  it("writes every crate once, as NDJSON lines whose base64 values decode to the core codec's record of the database", async () => {
    const { api, database, push } = await setUp(40);
    const summary = await push();
    expect(summary).toMatchObject({ pending: 40, cratesSent: 40, rejected: [], stop: null, freshnessWritten: true });
    const stored = crateEntries(api.store(STORE));
    expect(stored).toEqual(expectedKvValues(database));
    for (const [key, value] of stored) {
      const record = decodeCrateRecord(value);
      expect(record.crate).toBe(key);
      expect(new Map(record.versions)).toEqual(database.recordFor(key)?.versions);
    }
    expect(crateKeysSent(api).sort()).toEqual([...stored.keys()].sort());
    expect(countPendingCrates(database, STORE)).toBe(0);
  });

  it("stops with a clear error when the API refuses the token (401), and marks nothing pushed", async () => {
    const { database, push } = await setUp(5);
    const summary = await push({ token: "wrong-token-abcdef" });
    expect(summary.stop).toEqual({
      reason: "failed",
      message: expect.stringMatching(/refused the token \(401\).*FASTLY_API_TOKEN/),
    });
    expect(summary.stop?.message).not.toContain("wrong-token-abcdef");
    expect(summary.cratesSent).toBe(0);
    expect(countPendingCrates(database, STORE)).toBe(5);
  });

  it("splits the crates into batches of at most the line cap and the byte cap", async () => {
    const { api, push } = await setUp(95);
    await push({ limits: { maxLines: 20, maxBytes: 1_000_000 } });
    const crateBatches = api.batches.filter((batch) => !batch.keys.includes(FRESHNESS_KV_KEY));
    expect(crateBatches.map((batch) => batch.keys.length)).toEqual([20, 20, 20, 20, 15]);

    const { api: api2, push: push2 } = await setUp(95);
    await push2({ limits: { maxLines: 1_000, maxBytes: 2_000 } });
    const sized = api2.batches.filter((batch) => !batch.keys.includes(FRESHNESS_KV_KEY));
    expect(sized.length).toBeGreaterThan(5);
    for (const batch of sized) expect(batch.bodyBytes).toBeLessThanOrEqual(2_000);
    expect(sized.flatMap((batch) => batch.keys)).toHaveLength(95);
  });

  it("sends a line larger than the byte cap alone rather than never", async () => {
    const { api, database, push } = await setUp(3);
    database.record(
      Array.from({ length: 200 }, (_, v) => ({ crate: "huge", version: `0.${v}.0`, publishedAt: 1_600_000_000 + v })),
    );
    await push({ limits: { maxLines: 100, maxBytes: 500 } });
    expect(api.batches.find((batch) => batch.keys.includes("huge"))?.keys).toEqual(["huge"]);
    expect(crateEntries(api.store(STORE)).size).toBe(4);
  });

  it("waits for Fastly-RateLimit-Reset after a 429, then goes on where it stopped", async () => {
    const { api, push } = await setUp(30);
    const resetAt = Math.floor(Date.now() / 1000) + 1;
    api.script({ kind: "rate-limit", resetAt });
    const summary = await push({ limits: { maxLines: 10, maxBytes: 1_000_000 } });
    expect(Date.now()).toBeGreaterThanOrEqual(resetAt * 1000);
    expect(summary).toMatchObject({ cratesSent: 30, retries: 1, stop: null });
    expect(api.batches[0]?.status).toBe(429);
    expect(api.batches[1]?.keys).toEqual(api.batches[0]?.keys);
    expect(crateKeysSent(api, 1)).toHaveLength(30);
  });

  it("stops cleanly, saying when to resume, when the reset is further away than the longest wait; the next run finishes", async () => {
    const { api, database, push } = await setUp(30);
    const resetAt = Math.floor(Date.now() / 1000) + 3_600;
    api.onBatchApplied = (n) => {
      if (n === 1) api.script({ kind: "rate-limit", resetAt });
    };
    const summary = await push({ limits: { maxLines: 10, maxBytes: 1_000_000 } });
    expect(summary.stop).toEqual({
      reason: "rate-limited",
      resumeAt: resetAt * 1000 + 1000,
      message: expect.stringContaining("429"),
    });
    expect(summary).toMatchObject({ cratesSent: 10, freshnessWritten: false });
    expect(countPendingCrates(database, STORE)).toBe(20);
    expect(api.store(STORE).has(FRESHNESS_KV_KEY)).toBe(false);

    api.onBatchApplied = null;
    const before = api.batches.length;
    const second = await push({ limits: { maxLines: 10, maxBytes: 1_000_000 } });
    expect(second).toMatchObject({ pending: 20, cratesSent: 20, stop: null, freshnessWritten: true });
    expect(crateKeysSent(api, before)).toHaveLength(20);
    expect(crateEntries(api.store(STORE))).toEqual(expectedKvValues(database));
  });

  it("retries a 5xx and a dropped connection with back-off, and the store ends up complete", async () => {
    const { api, database, push } = await setUp(25);
    api.script({ kind: "status", status: 503 }, { kind: "drop" }, { kind: "status", status: 500 });
    const summary = await push({ limits: { maxLines: 10, maxBytes: 1_000_000 } });
    expect(summary).toMatchObject({ cratesSent: 25, retries: 3, stop: null, freshnessWritten: true });
    expect(api.batches.slice(0, 4).map((batch) => batch.status)).toEqual([503, "dropped", 500, 200]);
    expect(crateEntries(api.store(STORE))).toEqual(expectedKvValues(database));
  });

  it("gives up after the last back-off and leaves the unsent crates pending", async () => {
    const { api, database, push } = await setUp(10);
    api.script(...Array.from({ length: 4 }, () => ({ kind: "status" as const, status: 502 })));
    const summary = await push();
    expect(summary.stop).toEqual({ reason: "failed", message: expect.stringContaining("502") });
    expect(summary.retries).toBe(3);
    expect(countPendingCrates(database, STORE)).toBe(10);
  });

  for (const lineErrorStatus of [400, 200] as const) {
    it(`resends just the lines reported with a retryable per-line error (answer status ${lineErrorStatus})`, async () => {
      const { api, database, push } = await setUp(12, { lineErrorStatus });
      api.failLine(crateName(3), { code: "503", times: 1 });
      api.failLine(crateName(7), { code: "429", times: 2 });
      const summary = await push();
      expect(summary).toMatchObject({ cratesSent: 12, rejected: [], stop: null, freshnessWritten: true });
      expect(api.batches.map((batch) => batch.keys.length)).toEqual([12, 2, 1, 1]);
      expect(api.batches[1]?.keys).toEqual([crateName(3), crateName(7)]);
      expect(api.batches[2]?.keys).toEqual([crateName(7)]);
      expect(crateEntries(api.store(STORE))).toEqual(expectedKvValues(database));
    });
  }

  it("reports lines refused for good, keeps their crates pending and withholds the freshness key", async () => {
    const { api, database, push } = await setUp(6);
    api.failLine(crateName(2), { code: "400", reason: "invalid key", times: 1 });
    const summary = await push();
    expect(summary.rejected).toEqual([{ key: crateName(2), code: "400", reason: "invalid key" }]);
    expect(summary).toMatchObject({ cratesSent: 5, freshnessWritten: false });
    expect(api.batches).toHaveLength(1);
    expect(database.db.prepare("SELECT crate FROM kv_pushed").pluck().all()).not.toContain(crateName(2));
    expect(countPendingCrates(database, STORE)).toBe(1);

    const second = await push();
    expect(second).toMatchObject({ pending: 1, cratesSent: 1, rejected: [], freshnessWritten: true });
  });

  it("reports a line still failing after the per-line attempts run out", async () => {
    const { api, push } = await setUp(4);
    api.failLine(crateName(1), { code: "500", times: 99 });
    const summary = await push({ lineAttempts: 3 });
    expect(summary.rejected).toEqual([{ key: crateName(1), code: "500", reason: "scripted 500" }]);
    expect(api.batches.map((batch) => batch.keys.length)).toEqual([4, 1, 1]);
  });

  it("loses nothing when interrupted mid-push, and the next run sends exactly the crates not yet marked pushed", async () => {
    const { api, database, push } = await setUp(100);
    const interrupt = new AbortController();
    api.onBatchApplied = (n) => {
      if (n === 3) interrupt.abort();
    };
    await expect(push({ limits: { maxLines: 10, maxBytes: 1_000_000 }, signal: interrupt.signal })).rejects.toThrow();
    api.onBatchApplied = null;
    const marked = new Set(
      database.db.prepare("SELECT crate FROM kv_pushed WHERE store_id = ?").pluck().all(STORE) as string[],
    );
    expect(marked.size).toBe(20);
    // The third batch reached the store but its answer never came back: it is not marked, so it goes again.
    expect(api.batches.slice(0, 2).flatMap((batch) => batch.keys)).toEqual([...marked].sort());

    const before = api.batches.length;
    const second = await push({ limits: { maxLines: 10, maxBytes: 1_000_000 } });
    expect(second).toMatchObject({ pending: 80, cratesSent: 80, stop: null });
    const resent = crateKeysSent(api, before);
    expect(resent.filter((key) => marked.has(key))).toEqual([]);
    expect(new Set([...marked, ...resent]).size).toBe(100);
    expect(crateEntries(api.store(STORE))).toEqual(expectedKvValues(database));
  });

  it("after a small change sends only the changed and new crates", async () => {
    const { api, database, push } = await setUp(50);
    await push();
    database.record([
      { crate: crateName(4), version: "9.9.9", publishedAt: 1_700_000_000 },
      { crate: crateName(30), version: "1.0.0", publishedAt: 1_700_000_500 },
      { crate: "brand-new", version: "0.1.0", publishedAt: 1_700_000_900 },
      { crate: crateName(10), version: "1.0.0", publishedAt: 1 },
    ]);
    const before = api.batches.length;
    const summary = await push();
    expect(summary).toMatchObject({ pending: 3, cratesSent: 3 });
    expect(crateKeysSent(api, before).sort()).toEqual(["brand-new", crateName(4), crateName(30)]);
    expect(crateEntries(api.store(STORE))).toEqual(expectedKvValues(database));
  });

  it("sends only the freshness key when nothing changed", async () => {
    const { api, push } = await setUp(8);
    await push();
    const before = api.batches.length;
    const summary = await push();
    expect(summary).toMatchObject({ pending: 0, cratesSent: 0, batches: 1, freshnessWritten: true });
    expect(keysSent(api, before)).toEqual([FRESHNESS_KV_KEY]);
  });

  it("keeps pushes to different stores apart", async () => {
    const { api, push } = await setUp(5);
    await push();
    const summary = await push({ storeId: "store-2" });
    expect(summary.cratesSent).toBe(5);
    expect(crateEntries(api.store("store-2"))).toEqual(crateEntries(api.store(STORE)));
  });

  it("writes the freshness key last, with dump watermark, last feed poll, the latest feed gap and this push's start time", async () => {
    const { api, database, push } = await setUp(3);
    database.setMeta(META_KEYS.dumpWatermark, "1794900000");
    database.setMeta(META_KEYS.feedLastPoll, "1795000000");
    database.setMeta(
      META_KEYS.feedGaps,
      JSON.stringify([
        { from: 10, to: 20, detectedAt: 30 },
        { from: 40, to: 50, detectedAt: 60 },
      ]),
    );
    const before = Math.floor(Date.now() / 1000);
    await push();
    expect(api.batches.at(-1)?.keys).toEqual([FRESHNESS_KV_KEY]);
    const freshness = decodeFreshness(api.store(STORE).get(FRESHNESS_KV_KEY) as string);
    expect(freshness).toMatchObject({
      dumpWatermark: 1_794_900_000,
      lastFeedPoll: 1_795_000_000,
      feedGap: { from: 40, to: 50 },
    });
    expect(freshness.lastKvPush).toBeGreaterThanOrEqual(before);
    expect(freshness.lastKvPush).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect(database.getMeta(META_KEYS.kvLastPush)).toBe(String(freshness.lastKvPush));
    expect(crateNameProblem(FRESHNESS_KV_KEY)).not.toBeNull();
  });

  it("writes a freshness key of nulls when nothing has been ingested yet", async () => {
    const { api, push } = await setUp(1);
    await push();
    expect(decodeFreshness(api.store(STORE).get(FRESHNESS_KV_KEY) as string)).toMatchObject({
      dumpWatermark: null,
      lastFeedPoll: null,
      feedGap: null,
    });
  });

  it("leaves out names cargo could never request, so nothing can land on the freshness key", async () => {
    const { api, database, push } = await setUp(2);
    database.record([
      { crate: "_freshness", version: "1.0.0", publishedAt: 5 },
      { crate: "9lives", version: "1.0.0", publishedAt: 5 },
    ]);
    const before = Math.floor(Date.now() / 1000);
    const summary = await push();
    expect(summary.skipped).toEqual(["9lives", "_freshness"]);
    const lastKvPush = decodeFreshness(api.store(STORE).get(FRESHNESS_KV_KEY) as string).lastKvPush;
    expect(lastKvPush).toBeGreaterThanOrEqual(before);
    expect(lastKvPush).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect([...crateEntries(api.store(STORE)).keys()]).toEqual([crateName(0), crateName(1)]);
  });

  it("encodes a crate whose version texts hold the packing separators exactly as the codec does", async () => {
    const { api, database, push } = await setUp(1);
    database.record([
      { crate: "odd", version: "1.0.0\x1e2", publishedAt: 7 },
      { crate: "odd", version: "1.0.0\x1f3", publishedAt: 8 },
      { crate: "odd", version: "1.0.0", publishedAt: 9 },
    ]);
    await push();
    expect(api.store(STORE).get("odd")).toBe(expectedKvValues(database).get("odd"));
    expect(decodeCrateRecord(api.store(STORE).get("odd") as string).versions.size).toBe(3);
  });

  it("sends a crate with a revision but no versions as an empty record (nothing known, so everything stays hidden)", async () => {
    const { api, database, push } = await setUp(1);
    database.markChanged(["gone"]);
    await push();
    const gone = decodeCrateRecord(api.store(STORE).get("gone") as string);
    expect({ ...gone, versions: new Map(gone.versions) }).toEqual({ crate: "gone", versions: new Map() });
  });
});

describe("kv push --policy", () => {
  it("writes the policy to _policy before any crate, in the record the edge decodes", async () => {
    const { api, push } = await setUp(3);
    const { readPolicy, decodePolicy, POLICY_KV_KEY } = await import("../../src/core/policy-document.ts");
    const policy = readPolicy({
      yanked: "keep",
      exception: [{ crate: "serde", version: "1.0.0", reason: "r", expires: "2026-12-01" }],
    });
    const summary = await push({ policy });
    expect(summary.policyWritten).toBe(true);
    expect(api.batches[0]?.keys).toEqual([POLICY_KV_KEY]);
    expect(decodePolicy(api.store(STORE).get(POLICY_KV_KEY) as string)).toEqual(policy);
    expect(summary.cratesSent).toBe(3);
  });

  it("leaves _policy alone without a policy", async () => {
    const { api, push } = await setUp(2);
    const summary = await push();
    expect(summary.policyWritten).toBe(false);
    expect(api.store(STORE).has("_policy")).toBe(false);
  });
});

describe("kv push --service-id (purging the edge's cached answers)", () => {
  const SERVICE = "svc-0123";
  const purge = (delayMs = 0) => ({ purge: { serviceId: SERVICE, delayMs } });
  const purgedKeys = (api: FakeFastlyApi) => api.purges.filter((p) => p.status === 200).flatMap((p) => p.keys);

  it("purges the answers of exactly the crates it wrote, by their surrogate keys, and nothing without a service", async () => {
    const { api, database, push } = await setUp(12);
    const first = await push(purge());
    expect(first.purge).toEqual({ serviceId: SERVICE, keysPurged: 12, requests: 1, allAnswers: false, error: null });
    expect(api.purges).toEqual([
      { serviceId: SERVICE, keys: Array.from({ length: 12 }, (_, i) => crateSurrogateKey(crateName(i))), status: 200 },
    ]);
    database.record([{ crate: crateName(3), version: "9.0.0", publishedAt: 1_700_000_000 }]);
    database.record([{ crate: crateName(7), version: "9.0.0", publishedAt: 1_700_000_000 }]);
    await push(purge());
    expect(api.purges[1]?.keys).toEqual([crateSurrogateKey(crateName(3)), crateSurrogateKey(crateName(7))]);
    database.record([{ crate: crateName(5), version: "9.0.0", publishedAt: 1_700_000_000 }]);
    const unpurged = await push();
    expect(unpurged.cratesSent).toBe(1);
    expect(unpurged.purge).toBeNull();
    expect(api.purges).toHaveLength(2);
  });

  it("sends nothing to purge when the push wrote no record the edge caches", async () => {
    const { api, push } = await setUp(3);
    await push();
    const again = await push(purge());
    expect(again.freshnessWritten).toBe(true);
    expect(again.purge).toBeNull();
    expect(api.purges).toEqual([]);
  });

  it("names at most 256 keys per purge request", async () => {
    const { api, push } = await setUp(300);
    const summary = await push(purge());
    expect(api.purges.map((p) => p.keys.length)).toEqual([256, 44]);
    expect(new Set(purgedKeys(api)).size).toBe(300);
    expect(summary.purge).toMatchObject({ keysPurged: 300, requests: 2, allAnswers: false });
  });

  it("purges every cached answer with one key when more crates changed than it would name", async () => {
    const { api, push } = await setUp(MAX_CRATES_PURGED_BY_NAME + 1);
    const summary = await push(purge());
    expect(api.purges).toEqual([{ serviceId: SERVICE, keys: [ANSWERS_SURROGATE_KEY], status: 200 }]);
    expect(summary.purge).toMatchObject({ keysPurged: 1, requests: 1, allAnswers: true, error: null });
  });

  it("purges the edge's cached policy, and with it every cached answer, with the one key when it writes a policy", async () => {
    const { api, push } = await setUp(2);
    const { readPolicy } = await import("../../src/core/policy-document.ts");
    const summary = await push({ policy: readPolicy({ yanked: "keep" }), ...purge() });
    expect(purgedKeys(api)).toEqual([POLICY_SURROGATE_KEY]);
    expect(summary.purge).toMatchObject({ keysPurged: 1, requests: 1, allAnswers: true, error: null });
  });

  it("purges only after the last write has had time to reach the POPs", async () => {
    const { api, push } = await setUp(30);
    let lastWrite = 0;
    let purgedAt = 0;
    api.onBatchApplied = () => void (lastWrite = performance.now());
    api.onPurge = () => void (purgedAt = performance.now());
    await push({ ...purge(400), limits: { maxLines: 10, maxBytes: 1_000_000 } });
    expect(lastWrite).toBeGreaterThan(0);
    expect(purgedAt - lastWrite).toBeGreaterThanOrEqual(390);
    expect(DEFAULT_PURGE_DELAY_MS).toBeGreaterThanOrEqual(300);
  });

  it("purges what it wrote even when the push stops part-way", async () => {
    const { api, database, push } = await setUp(30);
    // The first batch goes through; the second is refused for good (a store that is gone), which stops the push.
    api.onBatchApplied = (batch) => {
      if (batch === 1) api.script({ kind: "status", status: 404, body: "no such store" });
    };
    const summary = await push({ ...purge(), limits: { maxLines: 10, maxBytes: 1_000_000 } });
    expect(summary.stop?.reason).toBe("failed");
    const written = 30 - countPendingCrates(database, STORE);
    expect(written).toBe(10);
    expect(purgedKeys(api)).toEqual(Array.from({ length: 10 }, (_, i) => crateSurrogateKey(crateName(i))));
    expect(summary.purge?.error).toBeNull();
  });

  it("tries a failing purge again, and reports one the API refuses without undoing the push", async () => {
    const retried = await setUp(4);
    retried.api.scriptPurges({ kind: "status", status: 503 });
    const summary = await retried.push(purge());
    expect(retried.api.purges.map((p) => p.status)).toEqual([503, 200]);
    expect(summary.purge).toMatchObject({ keysPurged: 4, requests: 1, error: null });
    expect(summary.retries).toBe(1);

    const refused = await setUp(4);
    refused.api.scriptPurges({ kind: "status", status: 403, body: `{"msg":"token ${refused.api.token} lacks scope"}` });
    const failed = await refused.push(purge());
    expect(failed.purge?.error).toMatch(/refused to purge service svc-0123 \(403\).*purge_select/);
    expect(failed.purge?.error).not.toContain(refused.api.token);
    expect(failed.purge).toMatchObject({ keysPurged: 0, requests: 0 });
    expect(failed.stop).toBeNull();
    expect(countPendingCrates(refused.database, STORE)).toBe(0);
  });
});
