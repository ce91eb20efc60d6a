/// <reference types="@fastly/js-compute" />
// A probe guest for the Compute host tests: each route exercises one part of the host through js-compute's own
// builtins (so the hostcalls are called exactly as the runtime calls them). Built by the tests with
// `js-compute-runtime --enable-http-cache probe.js out.wasm`.
import { CacheOverride } from "fastly:cache-override";
import { ConfigStore } from "fastly:config-store";
import { KVStore } from "fastly:kv-store";
import { SimpleCache } from "fastly:cache";

// Wizer runs top-level code at build time; a fresh instance per request starts every request from this state.
let requestsSeenByThisInstance = 0;

const text = (body, status = 200, headers = {}) => new Response(body, { status, headers: { "content-type": "text/plain", ...headers } });
const describe = (error) => `${error?.name ?? "Error"}: ${error?.message ?? String(error)}`;

async function handle(request) {
  const url = new URL(request.url);
  const param = (name) => url.searchParams.get(name);
  switch (url.pathname) {
    case "/counter":
      requestsSeenByThisInstance += 1;
      return text(String(requestsSeenByThisInstance));
    case "/url":
      return text(`${request.method} ${request.url.length} ${request.url.slice(0, 40)}`);
    case "/request-headers": {
      const names = [...request.headers.keys()];
      const total = [...request.headers.values()].reduce((sum, value) => sum + value.length, 0);
      return text(`${names.length} ${total}`);
    }
    case "/response-headers": {
      const headers = {};
      for (let i = 0; i < Number(param("n")); i++) headers[`x-probe-${i}`] = "v".repeat(Number(param("len")));
      return text("ok", 200, headers);
    }
    case "/kv": {
      try {
        const entry = await new KVStore(param("store") ?? "probe_kv").get(param("key"));
        if (entry === null) return text("missing", 404);
        return text(`${await entry.text()}|${entry.metadataText() ?? ""}`);
      } catch (error) {
        return text(describe(error), 500);
      }
    }
    case "/config": {
      try {
        const value = new ConfigStore(param("store") ?? "probe_config").get(param("key"));
        return text(value === null ? "null" : `${value.length}:${value.slice(0, 20)}`);
      } catch (error) {
        return text(describe(error), 500);
      }
    }
    case "/clock":
      return text(String(Date.now()));
    case "/sleep": {
      const started = Date.now();
      await new Promise((resolve) => setTimeout(resolve, Number(param("ms"))));
      return text(String(Date.now() - started));
    }
    case "/fetch": {
      const init = { backend: param("backend") ?? "origin", headers: { "x-probe": "1" } };
      if (param("decompress") === "1") init.fastly = { decompressGzip: true };
      if (param("hook") === "1") {
        init.cacheOverride = new CacheOverride({
          afterSend(candidate) {
            if (param("store") === "0") return { cache: false };
            if (param("ttl") !== null) candidate.ttl = Number(param("ttl"));
            return undefined;
          },
        });
      } else if (param("ttl") !== null) {
        init.cacheOverride = new CacheOverride({ ttl: Number(param("ttl")) });
      } else if (param("pass") === "1") {
        init.cacheOverride = new CacheOverride("pass");
      }
      let response;
      try {
        response = await fetch(`https://origin.example${param("path") ?? "/"}`, init);
      } catch (error) {
        return text(`fetch failed: ${describe(error)}`, 502);
      }
      let body;
      try {
        body = await response.text();
      } catch (error) {
        return text(`body failed: ${describe(error)}`, 502);
      }
      return text(body, response.status, {
        "x-upstream-status": String(response.status),
        "x-upstream-cache": response.headers.get("x-cache") ?? "",
        "x-upstream-encoding": response.headers.get("content-encoding") ?? "",
      });
    }
    case "/simple-cache": {
      const entry = await SimpleCache.getOrSet("probe", async () => ({ value: "cached", ttl: 60 }));
      return text(await entry.text());
    }
    case "/stream": {
      const encoder = new TextEncoder();
      const body = new ReadableStream({
        async start(controller) {
          for (let i = 0; i < 3; i++) {
            controller.enqueue(encoder.encode(`part${i};`));
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
          controller.close();
        },
      });
      return new Response(body, { headers: { "content-type": "text/plain" } });
    }
    case "/echo-body":
      return text(`${request.method} ${(await request.text()).length}`);
    default:
      return text("no such probe route", 404);
  }
}

addEventListener("fetch", (event) => event.respondWith(handle(event.request)));
