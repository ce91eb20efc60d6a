import { describe, expect, it } from "vitest";
import {
  type BackendRequestInit,
  backendUpstream,
  capCacheTtl,
  hostCacheOverride,
  isHttpCacheApiMissing,
} from "../../src/edge/backend-upstream.ts";
import type { CacheCandidateDouble } from "./fastly-doubles/cache-override.ts";

function recordingFetch(response: () => Response = () => new Response("ok")) {
  const calls: Array<{ url: string; init: BackendRequestInit }> = [];
  const fetch = async (url: string, init: BackendRequestInit) => {
    calls.push({ url, init });
    return response();
  };
  return { calls, fetch };
}

function candidate(cacheControl: string | null, ttl: number | undefined, swr?: number): CacheCandidateDouble {
  const headers = new Headers();
  if (cacheControl !== null) headers.set("cache-control", cacheControl);
  return { headers, ttl, swr };
}

describe("the upstream adapter over the crates_io_index backend", () => {
  it("fetches https://index.crates.io/<path> through the backend named crates_io_index", async () => {
    const { calls, fetch } = recordingFetch();
    await backendUpstream({ maxTtlSeconds: 60, fetch }).fetch("se/rd/serde", new Headers());
    expect(calls).toHaveLength(1);
    expect(calls[0]?.url).toBe("https://index.crates.io/se/rd/serde");
    expect(calls[0]?.init.backend).toBe("crates_io_index");
  });

  it("asks upstream for gzip and has Fastly decompress it, so the core reads identity bytes", async () => {
    const { calls, fetch } = recordingFetch();
    await backendUpstream({ maxTtlSeconds: 60, fetch }).fetch("config.json", new Headers({ "accept-encoding": "br" }));
    expect(calls[0]?.init.headers.get("accept-encoding")).toBe("gzip");
    expect(calls[0]?.init.fastly).toEqual({ decompressGzip: true });
  });

  it("passes the core's request headers upstream unchanged (user-agent, conditionals)", async () => {
    const { calls, fetch } = recordingFetch();
    const headers = new Headers({ "user-agent": "cargo/1.90.0", "if-none-match": '"abc"' });
    await backendUpstream({ maxTtlSeconds: 60, fetch }).fetch("config.json", headers);
    expect(calls[0]?.init.headers.get("user-agent")).toBe("cargo/1.90.0");
    expect(calls[0]?.init.headers.get("if-none-match")).toBe('"abc"');
    expect(headers.get("accept-encoding")).toBeNull();
  });

  it("returns upstream's response to the core as it came", async () => {
    const upstream = new Response("line\n", { status: 200, headers: { etag: '"u"' } });
    const { fetch } = recordingFetch(() => upstream);
    expect(await backendUpstream({ maxTtlSeconds: 60, fetch }).fetch("1/a", new Headers())).toBe(upstream);
  });

  it("caches through the edge cache with an afterSend hook that caps the TTL at the configured maximum", async () => {
    const { calls, fetch } = recordingFetch();
    await backendUpstream({ maxTtlSeconds: 45, fetch }).fetch("1/a", new Headers());
    const override = calls[0]?.init.cacheOverride;
    expect(override?.mode).toBe("override");
    const stored = candidate("public, max-age=600", 600);
    expect(await override?.afterSend?.(stored)).toBeUndefined();
    expect(stored.ttl).toBe(45);
  });
});

/** What js-compute 3.46 throws for a fetch with an afterSend hook when the service has no HTTP Cache API (Viceroy). */
const HTTP_CACHE_API_MISSING = "HTTP caching API is not enabled; please contact support for help";

/** A backend fetch that behaves as js-compute does on a service without the HTTP Cache API. */
function fetchWithoutHttpCacheApi() {
  const calls: Array<{ url: string; init: BackendRequestInit }> = [];
  const fetch = async (url: string, init: BackendRequestInit) => {
    calls.push({ url, init });
    if (init.cacheOverride.afterSend !== undefined) throw new TypeError(HTTP_CACHE_API_MISSING);
    return new Response("line\n", { headers: { etag: '"u"' } });
  };
  return { calls, fetch };
}

describe("the upstream adapter on a service without the HTTP Cache API (fastly compute serve, Viceroy)", () => {
  it("sends the request again through host caching, keeping the copy exactly the configured maximum, never stale", async () => {
    const { calls, fetch } = fetchWithoutHttpCacheApi();
    const response = await backendUpstream({ maxTtlSeconds: 45, fetch }).fetch(
      "3/l/log",
      new Headers({ "if-none-match": '"x"' }),
    );
    expect(await response.text()).toBe("line\n");
    expect(calls).toHaveLength(2);
    const fallback = calls[1]!.init;
    expect(calls[1]!.url).toBe("https://index.crates.io/3/l/log");
    expect([fallback.cacheOverride.mode, fallback.cacheOverride.ttl, fallback.cacheOverride.swr]).toEqual([
      "override",
      45,
      0,
    ]);
    expect(fallback.cacheOverride.afterSend).toBeUndefined();
    expect(fallback.backend).toBe("crates_io_index");
    expect(fallback.fastly).toEqual({ decompressGzip: true });
    expect(fallback.headers.get("accept-encoding")).toBe("gzip");
    expect(fallback.headers.get("if-none-match")).toBe('"x"');
  });

  it("passes every request through uncached when the configured maximum is 0", async () => {
    const { calls, fetch } = fetchWithoutHttpCacheApi();
    await backendUpstream({ maxTtlSeconds: 0, fetch }).fetch("config.json", new Headers());
    expect(calls[1]?.init.cacheOverride.mode).toBe("pass");
    expect(hostCacheOverride(0).mode).toBe("pass");
  });

  it("does not retry other fetch failures: a network error reaches the core, which answers 503", async () => {
    const calls: string[] = [];
    const fetch = async (url: string) => {
      calls.push(url);
      throw new TypeError("NetworkError when attempting to fetch resource.");
    };
    await expect(backendUpstream({ maxTtlSeconds: 60, fetch }).fetch("3/l/log", new Headers())).rejects.toThrow(
      "NetworkError",
    );
    expect(calls).toHaveLength(1);
  });

  it("recognises the runtime's refusal by its words, and nothing else", () => {
    expect(isHttpCacheApiMissing(new TypeError(HTTP_CACHE_API_MISSING))).toBe(true);
    expect(
      isHttpCacheApiMissing(
        new Error("HTTP caching API is not enabled for this service; please contact support for help"),
      ),
    ).toBe(true);
    expect(isHttpCacheApiMissing(new TypeError("NetworkError when attempting to fetch resource."))).toBe(false);
    expect(isHttpCacheApiMissing(HTTP_CACHE_API_MISSING)).toBe(false);
  });
});

describe("capping the edge cache TTL of an upstream file", () => {
  it("keeps a file no longer than upstream's max-age when that is below the configured maximum", () => {
    const stored = candidate("public,max-age=30", 3600);
    capCacheTtl(stored, 60);
    expect(stored.ttl).toBe(30);
  });

  it("keeps a file no longer than the configured maximum when upstream allows longer", () => {
    const stored = candidate("max-age=86400", 86400);
    capCacheTtl(stored, 60);
    expect(stored.ttl).toBe(60);
  });

  it("leaves a TTL that is already shorter than both caps alone", () => {
    const stored = candidate("max-age=600", 10);
    capCacheTtl(stored, 60);
    expect(stored.ttl).toBe(10);
  });

  it("uses the configured maximum when upstream gives no max-age (Fastly would otherwise pick its default TTL)", () => {
    const stored = candidate(null, 3600);
    capCacheTtl(stored, 60);
    expect(stored.ttl).toBe(60);
  });

  it("sets a TTL when Fastly computed none", () => {
    const stored = candidate("max-age=20", undefined);
    capCacheTtl(stored, 60);
    expect(stored.ttl).toBe(20);
  });

  it("does not store a file that upstream marks no-store or max-age=0", () => {
    expect(capCacheTtl(candidate("no-store", 3600), 60)).toEqual({ cache: false });
    expect(capCacheTtl(candidate("max-age=0", 3600), 60)).toEqual({ cache: false });
  });

  it("lets a copy be served stale only for what remains of the configured maximum, so yanks arrive within it", () => {
    const long = candidate("max-age=600, stale-while-revalidate=86400", 600, 86400);
    capCacheTtl(long, 60);
    expect([long.ttl, long.swr]).toEqual([60, 0]);
    const short = candidate("max-age=20, stale-while-revalidate=86400", 20, 86400);
    capCacheTtl(short, 60);
    expect([short.ttl, short.swr]).toEqual([20, 40]);
    const modest = candidate("max-age=20, stale-while-revalidate=10", 20, 10);
    capCacheTtl(modest, 60);
    expect([modest.ttl, modest.swr]).toEqual([20, 10]);
    const none = candidate("max-age=20", 20, undefined);
    capCacheTtl(none, 60);
    expect(none.swr).toBeUndefined();
  });

  it("does not store anything when the configured maximum is 0", () => {
    expect(capCacheTtl(candidate("max-age=600", 600), 0)).toEqual({ cache: false });
  });
});
