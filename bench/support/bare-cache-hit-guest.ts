/**
 * A Compute program that does nothing but answer bytes from the Core Cache: the least a cached answer can cost under
 * the same host, so a benchmark can set the edge's hot requests beside it (bare-cache-hit.ts). `PUT /<path>` stores the
 * request's body under the path; `GET /<path>` answers it, read as the edge's answer cache reads an entry
 * (`SimpleCache.get`, the body read whole) and sent as a new response.
 */
import { CoreCache, SimpleCache } from "fastly:cache";

addEventListener("fetch", (event) => event.respondWith(answer(event.request)));

async function answer(request: Request): Promise<Response> {
  const key = new URL(request.url).pathname;
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
