import { beforeEach, describe, expect, it } from "vitest";
import { defaultRules } from "../../src/core/policy.ts";
import { type CooldownProxy, createCooldownProxy } from "../../src/core/proxy.ts";
import {
  DAY,
  FixedClock,
  HOUR,
  InMemoryPublishTimes,
  InMemoryUpstream,
  indexLine,
} from "../support/in-memory-ports.ts";

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0) / 1000;
const NO_GRANT = { exception: null, advisory: null, shown_without_publish_time: false, trust: null };
const iso = (at: number) => new Date(at * 1000).toISOString().replace(".000Z", "Z");

let upstream: InMemoryUpstream;
let times: InMemoryPublishTimes;
let proxy: CooldownProxy;
const get = (path: string, headers: Record<string, string> = {}) =>
  proxy(new Request(`http://proxy.test${path}`, { headers }));
const getJson = async (path: string) => (await get(path, { accept: "application/json" })).json();

beforeEach(() => {
  upstream = new InMemoryUpstream().set("fo/ob/foobar", {
    body:
      indexLine({ name: "foobar", vers: "1.0.0", pubtime: NOW - 30 * DAY }) +
      indexLine({ name: "foobar", vers: "1.0.1", yanked: true, pubtime: NOW - 20 * DAY }) +
      indexLine({ name: "foobar", vers: "1.1.0", pubtime: NOW - 2 * DAY }) +
      indexLine({ name: "foobar", vers: "1.2.0" }) +
      indexLine({ name: "foobar", vers: "1.3.0" }) +
      "not json\n",
  });
  times = new InMemoryPublishTimes().set("foobar", "1.2.0", NOW - 10 * DAY);
  proxy = createCooldownProxy({
    upstream,
    publishTimes: times,
    clock: new FixedClock(NOW),
    rules: defaultRules(false),
    service: { version: "9.9.9", home: "node" },
  });
});

describe("GET /<window>/-/explain/<crate>", () => {
  it("lists every version in index order with its time, source and verdict as JSON", async () => {
    expect(await getJson("/7d/-/explain/foobar")).toEqual({
      crate: "foobar",
      window: "7d",
      now: iso(NOW),
      versions: [
        {
          version: "1.0.0",
          published_at: iso(NOW - 30 * DAY),
          source: "pubtime",
          visible: true,
          reason: null,
          visible_at: iso(NOW - 23 * DAY),
          yanked: false,
          ...NO_GRANT,
        },
        {
          version: "1.0.1",
          published_at: iso(NOW - 20 * DAY),
          source: "pubtime",
          visible: false,
          reason: "yanked",
          visible_at: null,
          yanked: true,
          ...NO_GRANT,
        },
        {
          version: "1.1.0",
          published_at: iso(NOW - 2 * DAY),
          source: "pubtime",
          visible: false,
          reason: "too-young",
          visible_at: iso(NOW + 5 * DAY),
          yanked: false,
          ...NO_GRANT,
        },
        {
          version: "1.2.0",
          published_at: iso(NOW - 10 * DAY),
          source: "database",
          visible: true,
          reason: null,
          visible_at: iso(NOW - 3 * DAY),
          yanked: false,
          ...NO_GRANT,
        },
        {
          version: "1.3.0",
          published_at: null,
          source: null,
          visible: false,
          reason: "unknown-publish-time",
          visible_at: null,
          yanked: false,
          ...NO_GRANT,
        },
        {
          version: null,
          published_at: null,
          source: null,
          visible: false,
          reason: "unreadable-line",
          visible_at: null,
          yanked: false,
          ...NO_GRANT,
        },
      ],
    });
  });

  it("answers a plain-text table by default", async () => {
    const response = await get("/7d/-/explain/foobar");
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toContain("foobar under /7d/ at 2026-11-22T12:00:00Z: 2 of 6 versions visible");
    expect(text).toMatch(/1\.1\.0\s+2026-11-20T12:00:00Z\s+pubtime\s+no\s+too young until 2026-11-27T12:00:00Z/);
    expect(text).toMatch(/1\.3\.0\s+unknown\s+-\s+no\s+publish time unknown/);
  });

  it("accepts the name in any case", async () => {
    expect(((await getJson("/7d/-/explain/FooBar")) as { crate: string }).crate).toBe("foobar");
  });

  it("answers 404 with a message for an unknown crate, and the index routes' errors for bad windows or names", async () => {
    const unknown = await get("/7d/-/explain/nosuchcrate");
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain('crate "nosuchcrate" not found upstream');
    expect((await get("/7D/-/explain/foobar")).status).toBe(404);
    expect((await get("/7d/-/explain/foo.bar")).status).toBe(404);
  });
});

describe("GET /-/status", () => {
  it("reports version, windows, rules and flags missing data as stale", async () => {
    const status = (await getJson("/-/status")) as Record<string, any>;
    expect(status.version).toBe("9.9.9");
    expect(status.windows.days).toBe("0…30");
    expect(status.rules.pre_pubtime_inference.enabled).toBe(false);
    expect(status.data.stale).toBe(true);
    expect(status.data.problems).toContain("the RSS feed has never been polled");
  });

  it("reports the freshness its home gives it", async () => {
    proxy = createCooldownProxy({
      upstream,
      publishTimes: times,
      clock: new FixedClock(NOW),
      rules: defaultRules(true),
      freshness: {
        freshness: async () => ({
          dumpWatermark: NOW - 10 * HOUR,
          lastFeedPoll: NOW - 300,
          lastKvPush: NOW - 200,
          feedGap: null,
        }),
      },
    });
    const status = (await getJson("/-/status")) as Record<string, any>;
    expect(status.data).toEqual({
      dump_watermark: iso(NOW - 10 * HOUR),
      last_feed_poll: iso(NOW - 300),
      last_kv_push: iso(NOW - 200),
      feed_gap: null,
      stale: false,
      problems: [],
    });
    expect(status.rules.pre_pubtime_inference.enabled).toBe(true);
  });

  it("says so when freshness cannot be read", async () => {
    proxy = createCooldownProxy({
      upstream,
      publishTimes: times,
      rules: defaultRules(false),
      freshness: { freshness: () => Promise.reject(new Error("KV down")) },
    });
    const status = (await getJson("/-/status")) as Record<string, any>;
    expect(status.data.problems[0]).toBe("freshness data unavailable: KV down");
  });
});

describe("explain and status show exceptions and admissions", () => {
  it("names the exception with its reason and expiry, and the advisory of an admitted fix", async () => {
    upstream.set("ru/st/rustls", {
      body:
        indexLine({ name: "rustls", vers: "0.23.17", pubtime: NOW - 3 * DAY }) +
        indexLine({ name: "rustls", vers: "0.23.18", pubtime: NOW - 2 * HOUR }),
    });
    times.records.set("rustls", new Map());
    const rules = defaultRules(false);
    const records = {
      lookup: async (crate: string) =>
        crate === "rustls"
          ? {
              crate,
              versions: new Map<string, number>(),
              advisories: [{ id: "RUSTSEC-2026-0042", patched: [">= 0.23.18"] }],
            }
          : null,
    };
    proxy = createCooldownProxy({
      upstream,
      publishTimes: records,
      clock: new FixedClock(NOW),
      rules: {
        ...rules,
        exceptions: [{ crate: "rustls", version: "0.23.17", reason: "gateway fix", expires: NOW + DAY }],
      },
    });
    const json = (await getJson("/7d/-/explain/rustls")) as { versions: Record<string, unknown>[] };
    expect(json.versions[0]).toMatchObject({
      version: "0.23.17",
      visible: true,
      exception: { reason: "gateway fix", expires: iso(NOW + DAY) },
    });
    expect(json.versions[1]).toMatchObject({
      version: "0.23.18",
      visible: true,
      advisory: { id: "RUSTSEC-2026-0042", floor_seconds: 3600 },
      visible_at: iso(NOW - HOUR),
    });
    const text = await (await get("/7d/-/explain/rustls")).text();
    expect(text).toContain(`exception until ${iso(NOW + DAY)}: gateway fix`);
    expect(text).toContain(`security fix (RUSTSEC-2026-0042), visible since ${iso(NOW - HOUR)}`);
    const status = (await getJson("/-/status")) as Record<string, any>;
    expect(status.rules.exceptions).toEqual([
      { crate: "rustls", version: "0.23.17", reason: "gateway fix", expires: iso(NOW + DAY), expired: false },
    ]);
    expect(status.rules.security_fix_admission).toEqual({ enabled: true, floor_seconds: 3600 });
  });
});
