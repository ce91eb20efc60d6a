/**
 * A Compute program that does the least a request for an index file can do, so benchmarks can set the edge beside the
 * floor under the same host (floor-host.ts):
 * - `PUT /cache/<path>` stores the request's body in the Core Cache; `GET /cache/<path>` answers it, read as the
 *   edge's answer cache reads an entry (`SimpleCache.get`, the body read whole) and sent as a new response: a hot
 *   answer with nothing decided;
 * - `GET /upstream/<path>?do=<step>` fetches `<path>` from the `crates_io_index` backend through the HTTP cache, as the
 *   edge does, and then: `pass` answers the upstream response as it is (no byte enters the guest), `read` reads the
 *   body whole and answers its length, `echo` reads it and answers those bytes, `decode` reads and decodes it and
 *   answers its length (decoded as the edge decodes a body: `decodeUtf8ExactlyByResponse`).
 */
import { CoreCache, SimpleCache } from "fastly:cache";
import { CacheOverride } from "fastly:cache-override";
import { decodeUtf8ExactlyByResponse } from "../../src/core/utf8.ts";

addEventListener("fetch", (event) => event.respondWith(answer(event.request)));

async function answer(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname.startsWith("/cache/")) return fromCache(request, url.pathname);
  if (url.pathname.startsWith("/upstream/")) return fromUpstream(url.pathname.slice("/upstream".length), url);
  return new Response("expected /cache/<path> or /upstream/<path>\n", { status: 404 });
}

async function fromCache(request: Request, key: string): Promise<Response> {
  if (request.method === "PUT") {
    const bytes = new Uint8Array(await request.arrayBuffer());
    const writer = CoreCache.insert(key, { maxAge: 3_600_000, length: bytes.byteLength });
    writer.append(bytes);
    writer.close();
    return new Response(null, { status: 204 });
  }
  const entry = SimpleCache.get(key);
  if (entry === null) return new Response(`nothing stored under ${key}\n`, { status: 404 });
  return new Response(await entry.arrayBuffer());
}

async function fromUpstream(path: string, url: URL): Promise<Response> {
  const upstream = await fetch(`https://index.crates.io${path}`, {
    backend: "crates_io_index",
    cacheOverride: new CacheOverride({ ttl: 3600 }),
  });
  const step = url.searchParams.get("do");
  if (step === "pass") return upstream;
  const bytes = await upstream.arrayBuffer();
  if (step === "read") return new Response(String(bytes.byteLength));
  if (step === "echo") return new Response(bytes);
  if (step === "decode") return new Response(String((await decodeUtf8ExactlyByResponse(new Uint8Array(bytes))).length));
  return new Response(`unknown step ${step}\n`, { status: 404 });
}
