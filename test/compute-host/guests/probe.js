/// <reference types="@fastly/js-compute" />
// A probe guest for the Compute host tests: each route exercises one part of the host through js-compute's own
// builtins (so the hostcalls are called exactly as the runtime calls them). Built by the tests with
// `js-compute-runtime --enable-http-cache probe.js out.wasm`.

import { CoreCache, SimpleCache } from "fastly:cache";
import { CacheOverride } from "fastly:cache-override";
import { ConfigStore } from "fastly:config-store";
import { KVStore } from "fastly:kv-store";
import { Logger } from "fastly:logger";
import { SecretStore } from "fastly:secret-store";

// Wizer runs top-level code at build time; a fresh instance per request starts every request from this state.
let requestsSeenByThisInstance = 0;

const text = (body, status = 200, headers = {}) =>
  new Response(body, { status, headers: { "content-type": "text/plain", ...headers } });
const describe = (error) => `${error?.name ?? "Error"}: ${error?.message ?? String(error)}`;

const json = (value) => new Response(JSON.stringify(value), { headers: { "content-type": "application/json" } });
const list = (value) => (value === null ? undefined : value.split(","));
const number = (value) => (value === null ? undefined : Number(value));

/** CoreCache write options from the query: maxAge, initialAge, swr (ms), sk (surrogate keys), meta, length, vary. */
function writeOptions(param) {
  return {
    maxAge: Number(param("maxAge") ?? 60_000),
    initialAge: number(param("initialAge")),
    staleWhileRevalidate: number(param("swr")),
    surrogateKeys: list(param("sk")),
    userMetadata: param("meta") ?? undefined,
    length: param("length") === "1" ? new TextEncoder().encode(param("value") ?? "").length : undefined,
  };
}

/** The expensive computation a cache saves: a backend request the origin counts. */
async function compute(key) {
  const response = await fetch(`https://origin.example/compute?key=${encodeURIComponent(key)}`, { backend: "origin" });
  return await response.text();
}

async function describeEntry(entry, param) {
  const state = entry.state();
  const range =
    param("start") !== null || param("end") !== null
      ? { start: number(param("start")), end: number(param("end")) }
      : undefined;
  return {
    found: state.found(),
    usable: state.usable(),
    stale: state.stale(),
    mustInsertOrUpdate: state.mustInsertOrUpdate(),
    body: state.found()
      ? await new Response(entry.body(range)).text().catch((error) => `body failed: ${describe(error)}`)
      : null,
    meta: state.found() ? new TextDecoder().decode(entry.userMetadata()) : null,
    length: state.found() ? entry.length() : null,
    maxAge: state.found() ? entry.maxAge() : null,
    age: state.found() ? entry.age() : null,
    staleWhileRevalidate: state.found() ? entry.staleWhileRevalidate() : null,
    hits: state.found() ? entry.hits() : null,
  };
}

/** A transaction: a usable entry is answered; an obligation is fulfilled as `action` says (insert, stream, update, cancel, close). */
async function transaction(entry, param) {
  const state = entry.state();
  if (!state.mustInsertOrUpdate()) return { outcome: "found", ...(await describeEntry(entry, param)) };
  const action = param("action") ?? "insert";
  const before = state.found() ? await describeEntry(entry, param) : null;
  switch (action) {
    case "cancel":
      entry.cancel();
      return { outcome: "cancelled", before };
    case "close":
      entry.close();
      return { outcome: "closed", before };
    case "leave":
      // The instance ends holding the obligation: the host gives it up, as Viceroy drops it with the sandbox.
      return { outcome: "left", before };
    case "update":
      entry.update(writeOptions(param));
      return { outcome: "updated", before };
    case "stream": {
      const value = await compute(param("key"));
      const [writer, reader] = entry.insertAndStreamBack(writeOptions(param));
      writer.append(value);
      writer.close();
      return { outcome: "inserted", before, streamedBack: await new Response(reader.body()).text() };
    }
    default: {
      const value = await compute(param("key"));
      const writer = entry.insert(writeOptions(param));
      writer.append(value);
      writer.close();
      return { outcome: "inserted", before, value };
    }
  }
}

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
    case "/secret": {
      const secret = await new SecretStore("probe_secrets").get("k");
      return text(String(secret));
    }
    case "/core/insert": {
      const writer = CoreCache.insert(param("key"), writeOptions(param));
      writer.append(param("value") ?? "");
      if (param("open") !== "1") writer.close();
      return text("inserted");
    }
    case "/core/lookup": {
      const entry = CoreCache.lookup(param("key"));
      if (entry === null) return text("miss", 404);
      return json(await describeEntry(entry, param));
    }
    case "/core/txn":
    case "/core/async": {
      let entry;
      if (url.pathname === "/core/async") {
        const pending = CoreCache.transactionLookupAsync(param("key"));
        entry = await pending.wait();
      } else {
        entry = CoreCache.transactionLookup(param("key"));
      }
      return json(await transaction(entry, param));
    }
    case "/simple/get-or-set": {
      try {
        const entry = await SimpleCache.getOrSet(param("key"), async () => ({
          value: await compute(param("key")),
          ttl: Number(param("ttl") ?? 60),
        }));
        return text(await entry.text());
      } catch (error) {
        return text(`getOrSet failed: ${describe(error)}`, 500);
      }
    }
    case "/simple/get": {
      const entry = SimpleCache.get(param("key"));
      return entry === null ? text("miss", 404) : text(await entry.text());
    }
    case "/simple/purge":
      SimpleCache.purge(param("key"), { scope: "global" });
      return text("purged");
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
    case "/log": {
      // Each `msg` parameter is one log() call on a Logger for `endpoint`; `twice=1` writes through a second Logger of
      // the same name too.
      try {
        const loggers = [new Logger(param("endpoint"))];
        if (param("twice") === "1") loggers.push(new Logger(param("endpoint")));
        for (const logger of loggers) for (const message of url.searchParams.getAll("msg")) logger.log(message);
        return text("logged");
      } catch (error) {
        return text(describe(error), 500);
      }
    }
    case "/console":
      console.log("probe says hello");
      console.error("probe says oops");
      return text("logged");
    default:
      return text("no such probe route", 404);
  }
}

addEventListener("fetch", (event) => event.respondWith(handle(event.request)));
