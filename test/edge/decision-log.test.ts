import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { describeFilter } from "../../src/core/cooldown-header.ts";
import type { FilteredIndexFile } from "../../src/core/index-filter.ts";
import { SCAN_CACHE_MIN_BYTES } from "../../src/core/scan-cache.ts";
import { formatRfc3339 } from "../../src/core/time.ts";
import { parseWindow } from "../../src/core/window.ts";
import { countsOfCooldownHeader, countsOfFiltered, type DecisionLine } from "../../src/edge/decision-log.ts";
import { createEdgeHandler } from "../../src/edge/edge-handler.ts";
import { resetCoreCache } from "./fastly-doubles/cache.ts";
import { resetConfigStores, seedConfigStore } from "./fastly-doubles/config-store.ts";
import { resetKvStores, seedKvStore } from "./fastly-doubles/kv-store.ts";
import { loggerLog, resetLoggers } from "./fastly-doubles/logger.ts";

const NOW = Date.parse("2026-09-21T12:00:00Z") / 1000;
const clock = { now: () => NOW };
const OLD_PUBTIME = "2026-08-01T00:00:00Z";
const YOUNG_PUBTIME = "2026-09-20T00:00:00Z";
const line = (name: string, vers: string, pubtime: string, yanked = false) =>
  `{"name":"${name}","vers":"${vers}","deps":[],"cksum":"aa","features":{},"yanked":${yanked},"pubtime":"${pubtime}"}\n`;
const DEMO =
  line("demo", "1.0.0", OLD_PUBTIME) + line("demo", "1.0.1", OLD_PUBTIME, true) + line("demo", "1.1.0", YOUNG_PUBTIME);
/** A file big enough for its scan to be kept (SCAN_CACHE_MIN_BYTES). */
const BIG = Array.from({ length: 400 }, (_, i) => line("big", `0.${i}.0`, OLD_PUBTIME)).join("");

type Upstream = (path: string) => Response | Promise<Response>;

function upstreamOf(files: Record<string, string>): Upstream {
  return (path) => {
    const body = files[path];
    if (body === undefined) return new Response("not found", { status: 404 });
    return new Response(body, {
      headers: { "cache-control": "public, max-age=300", etag: `"${path}"`, date: new Date(NOW * 1000).toUTCString() },
    });
  };
}

function handler(upstream: Upstream = upstreamOf({ "de/mo/demo": DEMO, "3/b/big": BIG })) {
  const fetched: string[] = [];
  const handle = createEdgeHandler({
    clock,
    fetch: async (url) => {
      const path = new URL(url).pathname.slice(1);
      fetched.push(path);
      return upstream(path);
    },
  });
  return {
    fetched,
    handle: (path: string, init?: RequestInit) => handle(new Request(`https://cooldown.example/${path}`, init)),
  };
}

const lines = () => loggerLog.entries.map((entry) => JSON.parse(entry.message) as DecisionLine);
const noCounts = { kept: null, hidden: null, next_visible: null };
const hidden = (counts: Partial<DecisionLine["hidden"] & object> = {}) => ({
  too_young: 0,
  yanked: 0,
  unknown_age: 0,
  unreadable: 0,
  trust_held: 0,
  trust_unknown: 0,
  ...counts,
});
const demoCounts = {
  kept: 1,
  hidden: hidden({ too_young: 1, yanked: 1 }),
  next_visible: formatRfc3339(Date.parse(YOUNG_PUBTIME) / 1000 + 7 * 86_400),
};
const at = { time: formatRfc3339(NOW) };

describe("the edge decision log", () => {
  beforeEach(() => {
    resetKvStores();
    resetConfigStores();
    resetLoggers();
    resetCoreCache(() => NOW * 1000);
    seedKvStore("cooldown_times", {});
    seedConfigStore("cooldown_config", { log_endpoint: "decisions" });
  });
  afterEach(() => vi.restoreAllMocks());

  it("writes one JSON line to the named endpoint for a miss, and one for the hit that follows, with the same counts", async () => {
    const { handle, fetched } = handler();
    const first = await handle("7d/de/mo/demo");
    const second = await handle("7d/de/mo/demo");
    expect(await second.text()).toBe(await first.text());
    expect(fetched).toEqual(["de/mo/demo"]);
    expect(loggerLog.entries.map((entry) => entry.endpoint)).toEqual(["decisions", "decisions"]);
    expect(lines()).toEqual([
      {
        ...at,
        window: "7d",
        crate: "demo",
        status: 200,
        ...demoCounts,
        upstream_status: 200,
        answer_cache: "miss",
        scan: "scanned",
      },
      {
        ...at,
        window: "7d",
        crate: "demo",
        status: 200,
        ...demoCounts,
        upstream_status: null,
        answer_cache: "hit",
        scan: null,
      },
    ]);
  });

  it("logs a 304 and a HEAD too, from the answer cache, with the counts of the answer they stand for", async () => {
    const { handle } = handler();
    const etag = (await handle("7d/de/mo/demo")).headers.get("etag")!;
    expect((await handle("7d/de/mo/demo", { headers: { "if-none-match": etag } })).status).toBe(304);
    expect((await handle("7d/de/mo/demo", { method: "HEAD" })).status).toBe(200);
    expect(lines().slice(1)).toEqual([
      {
        ...at,
        window: "7d",
        crate: "demo",
        status: 304,
        ...demoCounts,
        upstream_status: null,
        answer_cache: "hit",
        scan: null,
      },
      {
        ...at,
        window: "7d",
        crate: "demo",
        status: 200,
        ...demoCounts,
        upstream_status: null,
        answer_cache: "hit",
        scan: null,
      },
    ]);
  });

  it("never writes the client's address, User-Agent or any other request header", async () => {
    const { handle } = handler();
    const headers = {
      "user-agent": "cargo/1.91.0 (secret-agent)",
      "fastly-client-ip": "203.0.113.9",
      "x-forwarded-for": "198.51.100.7",
      authorization: "Bearer token-xyz",
    };
    await handle("7d/de/mo/demo", { headers });
    await handle("7d/de/mo/demo", { headers });
    expect(loggerLog.entries).toHaveLength(2);
    for (const { message } of loggerLog.entries) {
      for (const value of [...Object.values(headers), "secret-agent", "203.0.113", "198.51.100", "token"]) {
        expect(message).not.toContain(value);
      }
      expect(Object.keys(JSON.parse(message))).toEqual(Object.keys(lines()[0]!));
    }
  });

  it("writes nothing when no endpoint is named, or the Config Store is not linked", async () => {
    seedConfigStore("cooldown_config", {});
    await handler().handle("7d/de/mo/demo");
    resetConfigStores();
    await handler().handle("7d/de/mo/demo");
    expect(loggerLog.entries).toEqual([]);
  });

  it("writes nothing for requests that are not for a filtered file", async () => {
    const { handle } = handler(upstreamOf({ "de/mo/demo": DEMO, "config.json": "{}" }));
    for (const path of [
      "7d/config.json",
      "0d/de/mo/demo",
      "7d/-/explain/demo",
      "-/status",
      "7d/de/mo/nope-not-a-path",
    ]) {
      await handle(path);
    }
    await handle("7d/de/mo/demo", { method: "POST" });
    expect(loggerLog.entries).toEqual([]);
  });

  it('says "off" with answer_cache off: every answer is made, and its scan said', async () => {
    seedConfigStore("cooldown_config", { log_endpoint: "decisions", answer_cache: "off" });
    const { handle } = handler();
    await handle("7d/de/mo/demo");
    await handle("7d/de/mo/demo");
    const made = {
      ...at,
      window: "7d",
      crate: "demo",
      status: 200,
      ...demoCounts,
      upstream_status: 200,
      answer_cache: "off",
      scan: "scanned",
    };
    expect(lines()).toEqual([made, made]);
  });

  it('says a scan was "stored", then "kept" for the same bytes in another window; "scanned" with scan_cache off', async () => {
    expect(BIG.length).toBeGreaterThanOrEqual(SCAN_CACHE_MIN_BYTES);
    const { handle } = handler();
    await handle("7d/3/b/big");
    await handle("3d/3/b/big");
    seedConfigStore("cooldown_config", { log_endpoint: "decisions", scan_cache: "off" });
    await handle("2d/3/b/big");
    const big = {
      status: 200,
      kept: 400,
      hidden: hidden(),
      next_visible: null,
      upstream_status: 200,
      answer_cache: "miss",
    };
    expect(lines()).toEqual([
      { ...at, window: "7d", crate: "big", ...big, scan: "stored" },
      { ...at, window: "3d", crate: "big", ...big, scan: "kept" },
      { ...at, window: "2d", crate: "big", ...big, scan: "scanned" },
    ]);
  });

  it("logs upstream's failures: its status, or null when no answer came, and no counts", async () => {
    const { handle } = handler((path) => {
      if (path === "de/mo/demo") return new Response("busy", { status: 500 });
      if (path === "3/b/big") throw new TypeError("Connection refused");
      return new Response("not found", { status: 404 });
    });
    await handle("7d/de/mo/demo");
    await handle("7d/3/b/big");
    await handle("7d/no/ne/none");
    const failed = { ...at, window: "7d", ...noCounts, answer_cache: "miss", scan: null };
    expect(lines()).toEqual([
      { ...failed, crate: "demo", status: 503, upstream_status: 500 },
      { ...failed, crate: "big", status: 503, upstream_status: null },
      { ...failed, crate: "none", status: 404, upstream_status: 404 },
    ]);
  });

  it("logs a request refused because the policy cannot be read", async () => {
    seedKvStore("cooldown_times", { _policy: '{"v":99}' });
    const { handle, fetched } = handler();
    expect((await handle("7d/de/mo/demo")).status).toBe(503);
    expect(fetched).toEqual([]);
    expect(lines()).toEqual([
      {
        ...at,
        window: "7d",
        crate: "demo",
        status: 503,
        ...noCounts,
        upstream_status: null,
        answer_cache: "miss",
        scan: null,
      },
    ]);
  });

  it("answers as always when the endpoint refuses the line, and says so on stderr", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    loggerLog.refusedEndpoints.add("decisions");
    const response = await handler().handle("7d/de/mo/demo");
    expect(response.status).toBe(200);
    expect(loggerLog.entries).toEqual([]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toContain('log endpoint "decisions"');
  });
});

describe("the counts of a hit, read back from its X-Cooldown header", () => {
  const count = fc.nat({ max: 5000 });
  it("are the counts of the filtered file the header describes", () => {
    fc.assert(
      fc.property(
        fc.record({
          kept: count,
          hidden: fc.record({
            "too-young": count,
            yanked: count,
            "unknown-publish-time": count,
            "unreadable-line": count,
            "trust-signal": count,
            "trust-data-unknown": count,
          }),
          nextVisibleAt: fc.option(fc.integer({ min: 0, max: 4_102_444_800 })),
        }),
        fc.constantFrom("7d", "12h", "30d"),
        (filtered, label) => {
          const window = parseWindow(label);
          if (!window.ok) throw new Error(label);
          const file = filtered as unknown as FilteredIndexFile;
          expect(countsOfCooldownHeader(describeFilter(window.window, file))).toEqual(countsOfFiltered(file));
        },
      ),
    );
  });

  it("are none without the header", () => {
    expect(countsOfCooldownHeader(null)).toBeNull();
    expect(countsOfCooldownHeader("window=7d")).toBeNull();
  });
});
