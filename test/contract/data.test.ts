import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_POLICY, type Policy } from "../../src/core/policy-document.ts";
import { META_KEYS } from "../../src/store/meta-keys.ts";
import { indexFile, type VersionSpec, versionsIn } from "../server/index-lines.ts";
import { sparseIndexPath } from "../support/fake-crates-io.ts";
import { FixtureUpstream } from "../support/fixture-upstream.ts";
import { type Answer, closeClient, send } from "./client.ts";
import { HOMES, type RunningHome, startHome } from "./homes.ts";

// What the homes decide from their data, with the same expectations for each: publish times from the timestamp
// database (at the edge: the KV store as `kv export` writes it), the policy (`_policy` at the edge), RustSec
// advisories, and records a home cannot read. Each test moves the clock as it needs; the policy starts as the default.

const T0 = Math.floor(Date.now() / 1000);
const HOUR = 3_600;
const DAY = 86_400;
const LIFETIME_MS = 300_000;
const rfc3339 = (at: number) => new Date(at * 1000).toISOString().replace(".000Z", "Z");

let upstream: FixtureUpstream;

/** Serves crate `name` with these versions (a day of upstream lifetime, so only the proxy's own rules bound caching). */
function serve(name: string, versions: readonly VersionSpec[]): string {
  upstream.set(`/${sparseIndexPath(name)}`, {
    body: indexFile(name, versions),
    headers: { "cache-control": "public, max-age=86400" },
  });
  return sparseIndexPath(name);
}

beforeAll(async () => {
  upstream = await FixtureUpstream.start({ lifetimeMs: LIFETIME_MS });
});

afterAll(async () => {
  await upstream?.close();
  closeClient();
});

interface ExplainedVersion {
  version: string;
  visible: boolean;
  reason: string | null;
  source: string | null;
  published_at: string | null;
  visible_at: string | null;
  exception: { reason: string; expires: string } | null;
  advisory: { id: string; floor_seconds: number } | null;
  shown_without_publish_time: boolean;
}

describe.each(HOMES)("the %s home", (kind) => {
  let home: RunningHome;
  let now = T0;
  const get = (target: string, headers: Record<string, string> = {}) => send(home.url, target, { headers });
  const visible = async (name: string, window = "7d") => {
    const answer = await get(`${window}/${sparseIndexPath(name)}`);
    expect(answer.status, failure(answer)).toBe(200);
    return versionsIn(answer.text);
  };
  const explain = async (name: string): Promise<ExplainedVersion[]> => {
    const answer = await get(`7d/-/explain/${name}`, { accept: "application/json" });
    expect(answer.status, failure(answer)).toBe(200);
    return (JSON.parse(answer.text) as { versions: ExplainedVersion[] }).versions;
  };
  const failure = (answer: Answer) =>
    `${answer.status} ${answer.text}\n--- ${kind} log ---\n${home.log.slice(-20).join("\n")}`;
  const withPolicy = (changes: Partial<Policy>) => home.setPolicy({ ...DEFAULT_POLICY, ...changes });

  beforeAll(async () => {
    home = await startHome(kind, { upstream: upstream.url, clock: () => now, lifetimeMs: LIFETIME_MS });
  });
  afterAll(async () => {
    await home?.close();
  });
  beforeEach(() => {
    now = T0;
    home.setPolicy(DEFAULT_POLICY);
  });

  describe("publish times from the timestamp database", () => {
    it("hides versions without pubtime until the database knows them, then decides them by its times", async () => {
      const path = serve("legacy", [{ vers: "1.0.0" }, { vers: "1.1.0" }, { vers: "1.2.0" }]);
      const unknown = await get(`7d/${path}`);
      expect(unknown.status, failure(unknown)).toBe(200);
      expect(unknown.body.byteLength).toBe(0);
      expect(unknown.headers["x-cooldown"]).toBe(
        "window=7d; kept=0; hidden=3; too-young=0; yanked=0; unknown-age=3; unreadable=0",
      );

      home.recordTimes([
        { crate: "legacy", version: "1.0.0", publishedAt: T0 - 40 * DAY },
        { crate: "legacy", version: "1.1.0", publishedAt: T0 - 3 * DAY },
      ]);
      const known = await get(`7d/${path}`);
      expect(versionsIn(known.text)).toEqual(["1.0.0"]);
      expect(known.headers["x-cooldown"]).toBe(
        `window=7d; kept=1; hidden=2; too-young=1; yanked=0; unknown-age=1; unreadable=0; next-visible=${rfc3339(T0 + 4 * DAY)}`,
      );
      expect(known.headers.etag).not.toBe(unknown.headers.etag);
      // cargo revalidating with the tag of the empty file gets the new one.
      expect((await get(`7d/${path}`, { "if-none-match": unknown.headers.etag ?? "" })).status).toBe(200);
      expect((await explain("legacy")).map((v) => [v.version, v.source, v.published_at, v.reason])).toEqual([
        ["1.0.0", "database", rfc3339(T0 - 40 * DAY), null],
        ["1.1.0", "database", rfc3339(T0 - 3 * DAY), "too-young"],
        ["1.2.0", null, null, "unknown-publish-time"],
      ]);

      now = T0 + 4 * DAY;
      expect(await visible("legacy")).toEqual(["1.0.0", "1.1.0"]);
    });

    it("takes the later of the line's pubtime and the database's time", async () => {
      serve("disputed", [
        { vers: "1.0.0", publishedAt: T0 - 30 * DAY },
        { vers: "1.1.0", publishedAt: T0 - 2 * DAY },
      ]);
      home.recordTimes([
        { crate: "disputed", version: "1.0.0", publishedAt: T0 - 2 * DAY },
        { crate: "disputed", version: "1.1.0", publishedAt: T0 - 30 * DAY },
      ]);
      expect(await visible("disputed")).toEqual([]);
      expect((await explain("disputed")).map((v) => [v.version, v.source, v.published_at])).toEqual([
        ["1.0.0", "database", rfc3339(T0 - 2 * DAY)],
        ["1.1.0", "pubtime", rfc3339(T0 - 2 * DAY)],
      ]);
    });

    it("shows a version the moment it is exactly one window old, not a second before", async () => {
      serve("punctual", [{ vers: "1.0.0" }]);
      home.recordTimes([{ crate: "punctual", version: "1.0.0", publishedAt: T0 - 7 * DAY + 1 }]);
      expect(await visible("punctual")).toEqual([]);
      now = T0 + 1;
      expect(await visible("punctual")).toEqual(["1.0.0"]);
    });
  });

  describe("data freshness", () => {
    it("reports the dump, feed and KV push times and a feed gap on /-/status, and says the data is stale while a gap is open", async () => {
      home.setMeta(META_KEYS.dumpWatermark, String(T0 - 6 * HOUR));
      home.setMeta(META_KEYS.feedLastPoll, String(T0 - 5 * 60));
      home.setMeta(META_KEYS.kvLastPush, String(T0 - 2 * 60));
      const fresh = JSON.parse((await get("-/status")).text) as { data: unknown };
      expect(fresh.data).toEqual({
        dump_watermark: rfc3339(T0 - 6 * HOUR),
        last_feed_poll: rfc3339(T0 - 5 * 60),
        last_kv_push: rfc3339(T0 - 2 * 60),
        feed_gap: null,
        api_lookups: { backlog: 0, oldest: null },
        stale: false,
        problems: [],
      });
      home.setMeta(
        META_KEYS.feedGaps,
        JSON.stringify([{ from: T0 - 3 * HOUR, to: T0 - 2 * HOUR, detectedAt: T0 - 2 * HOUR }]),
      );
      const gapped = JSON.parse((await get("-/status")).text) as {
        data: { feed_gap: unknown; stale: boolean; problems: string[] };
      };
      expect(gapped.data.feed_gap).toEqual({ from: rfc3339(T0 - 3 * HOUR), to: rfc3339(T0 - 2 * HOUR) });
      expect(gapped.data.stale).toBe(true);
      expect(gapped.data.problems).toEqual([
        `versions published between ${rfc3339(T0 - 3 * HOUR)} and ${rfc3339(T0 - 2 * HOUR)} may be missing until the next dump (feed gap)`,
      ]);
    });
  });

  describe("the pre-pubtime inference, switched on", () => {
    let inferring: RunningHome;
    beforeAll(async () => {
      inferring = await startHome(kind, {
        upstream: upstream.url,
        clock: () => T0,
        settings: { prePubtimeInference: "on" },
        lifetimeMs: LIFETIME_MS,
      });
    });
    afterAll(async () => {
      await inferring?.close();
    });

    it("treats every version of a file without any pubtime as published at 2026-02-01T00:00:00Z when nothing better is known", async () => {
      serve("ancient", [{ vers: "0.1.0" }, { vers: "0.2.0" }]);
      inferring.recordTimes([{ crate: "ancient", version: "0.2.0", publishedAt: T0 - DAY }]);
      const answer = await send(inferring.url, `7d/${sparseIndexPath("ancient")}`);
      expect(versionsIn(answer.text)).toEqual(["0.1.0"]);
      const explained = JSON.parse(
        (await send(inferring.url, "7d/-/explain/ancient", { headers: { accept: "application/json" } })).text,
      ) as { versions: ExplainedVersion[] };
      expect(explained.versions.map((v) => [v.version, v.source, v.published_at])).toEqual([
        ["0.1.0", "pre-pubtime-inference", "2026-02-01T00:00:00Z"],
        ["0.2.0", "database", rfc3339(T0 - DAY)],
      ]);
      const status = JSON.parse((await send(inferring.url, "-/status")).text) as {
        rules: { pre_pubtime_inference: unknown };
      };
      expect(status.rules.pre_pubtime_inference).toEqual({ enabled: true, switched_on_by: "2026-02-01T00:00:00Z" });
    });

    it("infers nothing for a file with pubtime on some lines only", async () => {
      serve("anomalous", [{ vers: "0.1.0" }, { vers: "0.2.0", publishedAt: T0 - 30 * DAY }]);
      expect(versionsIn((await send(inferring.url, `7d/${sparseIndexPath("anomalous")}`)).text)).toEqual(["0.2.0"]);
    });
  });

  describe("the policy", () => {
    it("shows a too-young version through an exception in force, and hides it again the second it expires", async () => {
      serve("excepted", [
        { vers: "1.0.0", publishedAt: T0 - 30 * DAY },
        { vers: "1.1.0", publishedAt: T0 - DAY },
      ]);
      const expires = T0 + HOUR;
      withPolicy({
        exceptions: [{ crate: "excepted", version: "1.1.0", reason: "needed for the release (SEC-1)", expires }],
      });
      const during = await get(`7d/${sparseIndexPath("excepted")}`);
      expect(versionsIn(during.text)).toEqual(["1.0.0", "1.1.0"]);
      // Never cached past the moment the exception ends.
      expect(during.headers["cache-control"]).toBe(`public, max-age=${HOUR}`);
      const explained = (await explain("excepted"))[1];
      expect(explained).toMatchObject({
        version: "1.1.0",
        visible: true,
        exception: { reason: "needed for the release (SEC-1)", expires: rfc3339(expires) },
      });
      const status = JSON.parse((await get("-/status")).text) as { rules: { exceptions: unknown[] } };
      expect(status.rules.exceptions).toEqual([
        {
          crate: "excepted",
          version: "1.1.0",
          reason: "needed for the release (SEC-1)",
          expires: rfc3339(expires),
          expired: false,
        },
      ]);

      now = expires - 1;
      expect(await visible("excepted")).toEqual(["1.0.0", "1.1.0"]);
      now = expires;
      expect(await visible("excepted")).toEqual(["1.0.0"]);
      const after = JSON.parse((await get("-/status")).text) as { rules: { exceptions: { expired: boolean }[] } };
      expect(after.rules.exceptions.map((e) => e.expired)).toEqual([true]);
    });

    it("passes yanked lines on with yanked = keep, decided by age like any other, and hides them with hide", async () => {
      const path = serve("yanky", [
        { vers: "1.0.0", publishedAt: T0 - 30 * DAY, yanked: true },
        { vers: "1.1.0", publishedAt: T0 - 20 * DAY },
        { vers: "1.2.0", publishedAt: T0 - DAY, yanked: true },
      ]);
      const hidden = await get(`7d/${path}`);
      expect(versionsIn(hidden.text)).toEqual(["1.1.0"]);
      expect(hidden.headers["x-cooldown"]).toMatch(/; hidden=2; too-young=0; yanked=2;/);

      withPolicy({ yanked: "keep" });
      const kept = await get(`7d/${path}`);
      expect(versionsIn(kept.text)).toEqual(["1.0.0", "1.1.0"]);
      expect(kept.headers["x-cooldown"]).toMatch(/; hidden=1; too-young=1; yanked=0;/);
      expect(kept.headers.etag).not.toBe(hidden.headers.etag);
      const status = JSON.parse((await get("-/status")).text) as { rules: { yanked: string } };
      expect(status.rules.yanked).toBe("keep");
    });

    it("shows versions of unknown age with unknown-publish-time = show, and caches that answer at most 60 s", async () => {
      const path = serve("unknowable", [{ vers: "1.0.0" }, { vers: "1.1.0", publishedAt: T0 - DAY }]);
      expect(await visible("unknowable")).toEqual([]);
      withPolicy({ unknownPublishTime: "show" });
      const shown = await get(`7d/${path}`);
      expect(versionsIn(shown.text)).toEqual(["1.0.0"]);
      expect(shown.headers["cache-control"]).toBe("public, max-age=60");
      expect((await explain("unknowable"))[0]).toMatchObject({
        version: "1.0.0",
        visible: true,
        shown_without_publish_time: true,
      });
    });
  });

  describe("security-fix admission", () => {
    beforeAll(async () => {
      serve("leaky", [
        { vers: "1.0.0", publishedAt: T0 - 30 * DAY },
        { vers: "1.0.1", publishedAt: T0 - 2 * HOUR },
        { vers: "1.0.2", publishedAt: T0 - 2 * HOUR },
      ]);
      serve("just-fixed", [
        { vers: "2.0.0", publishedAt: T0 - 30 * DAY },
        { vers: "2.0.1", publishedAt: T0 - 30 * 60 },
      ]);
      serve("retracted", [
        { vers: "3.0.0", publishedAt: T0 - 30 * DAY },
        { vers: "3.0.1", publishedAt: T0 - 2 * HOUR },
      ]);
      // Before any advisory, the fixes wait the whole window.
      expect(await visible("leaky")).toEqual(["1.0.0"]);
      await home.setAdvisories([
        { id: "RUSTSEC-2026-0101", package: "leaky", patched: [">= 1.0.1"] },
        { id: "RUSTSEC-2026-0102", package: "just-fixed", patched: ["^2.0.1"] },
        { id: "RUSTSEC-2026-0103", package: "retracted", patched: [">= 3.0.1"], withdrawn: "2026-11-21" },
      ]);
    });

    it("admits the lowest patched version of an advisory after the 1 h floor, and only that version", async () => {
      expect(await visible("leaky")).toEqual(["1.0.0", "1.0.1"]);
      const [, fix, later] = await explain("leaky");
      expect(fix).toMatchObject({
        version: "1.0.1",
        visible: true,
        advisory: { id: "RUSTSEC-2026-0101", floor_seconds: HOUR },
        visible_at: rfc3339(T0 - HOUR),
      });
      expect(later).toMatchObject({ version: "1.0.2", visible: false, reason: "too-young", advisory: null });
    });

    it("holds a fix younger than the floor until the floor has passed", async () => {
      expect(await visible("just-fixed")).toEqual(["2.0.0"]);
      const fix = (await explain("just-fixed"))[1];
      expect(fix).toMatchObject({
        version: "2.0.1",
        visible: false,
        reason: "too-young",
        visible_at: rfc3339(T0 + 30 * 60),
      });
      now = T0 + 30 * 60;
      expect(await visible("just-fixed")).toEqual(["2.0.0", "2.0.1"]);
    });

    it("admits nothing for a withdrawn advisory", async () => {
      expect(await visible("retracted")).toEqual(["3.0.0"]);
    });

    it("admits nothing with security-fix-admission = false, and uses the policy's floor", async () => {
      withPolicy({ securityFixAdmission: false });
      expect(await visible("leaky")).toEqual(["1.0.0"]);
      withPolicy({ securityFixFloor: 3 * HOUR });
      expect(await visible("leaky")).toEqual(["1.0.0"]);
      withPolicy({ securityFixFloor: 30 * 60 });
      expect(await visible("just-fixed")).toEqual(["2.0.0", "2.0.1"]);
    });
  });

  // Node reads rows from SQLite and takes its policy from a file it refuses to start with when unreadable; only the
  // edge reads records a newer writer may have written.
  describe.skipIf(kind === "node")("records the edge cannot read", () => {
    it("answers 503 with Retry-After when a crate's record is in a format this build does not read", async () => {
      const path = serve("futuristic", [{ vers: "1.0.0" }]);
      home.rawKv?.("futuristic", JSON.stringify({ v: 99, crate: "futuristic", times: { "1.0.0": T0 - 30 * DAY } }));
      try {
        const answer = await get(`7d/${path}`);
        expect(answer.status, failure(answer)).toBe(503);
        expect(answer.headers["retry-after"]).toBe("5");
        expect(answer.text).toMatch(/^[^\n]+\n$/);
        expect(answer.text).not.toContain('"vers"');
      } finally {
        home.rawKv?.("futuristic", null);
      }
    });

    it("answers 503 with Retry-After when a record under a crate's key is another crate's", async () => {
      const path = serve("misfiled", [{ vers: "1.0.0" }]);
      home.rawKv?.("misfiled", JSON.stringify({ v: 1, crate: "other", times: { "1.0.0": T0 - 30 * DAY } }));
      try {
        const answer = await get(`7d/${path}`);
        expect(answer.status, failure(answer)).toBe(503);
        expect(answer.headers["retry-after"]).toBe("5");
      } finally {
        home.rawKv?.("misfiled", null);
      }
    });

    it("answers 503 with Retry-After when the policy record is in a format this build does not read", async () => {
      const path = serve("policed", [{ vers: "1.0.0", publishedAt: T0 - 30 * DAY }]);
      home.rawKv?.("_policy", JSON.stringify({ v: 2, yanked: "hide" }));
      try {
        for (const target of [`7d/${path}`, "7d/-/explain/policed"]) {
          const answer = await get(target);
          expect(answer.status, failure(answer)).toBe(503);
          expect(answer.headers["retry-after"]).toBe("5");
          expect(answer.text).toMatch(/^[^\n]+\n$/);
        }
      } finally {
        home.rawKv?.("_policy", null);
      }
      expect(await visible("policed")).toEqual(["1.0.0"]);
    });
  });
});
