import { Agent, type Dispatcher, interceptors } from "undici";
import type { Upstream } from "../core/ports.ts";
import { BoundedMemoryCacheStore, type CacheBounds, DEFAULT_CACHE_BOUNDS } from "./bounded-cache-store.ts";
import { decodeContent } from "./content-decoding.ts";
import { CONDITIONAL_REQUEST_HEADERS, isNotModified, notModifiedResponse } from "./upstream-conditionals.ts";

export interface HttpUpstreamOptions {
  /** The upstream index root, ending with `/` (see `parseUpstreamUrl`). */
  readonly base: URL;
  /** Connect, header and body deadlines, so a request the core gave up on does not hold a socket for long. */
  readonly timeoutMs: number;
  readonly cacheBounds?: CacheBounds;
}

/** An `Upstream` that owns sockets and a cache, and so must be closed. */
export interface HttpUpstream extends Upstream {
  close(): Promise<void>;
}

/** Compressed upstream bodies cost less to fetch and to keep in the cache; they are decoded per use. */
const REQUESTED_CONTENT_CODING = "gzip";
/** Added by undici's cache for stale answers; RFC 9111 obsoleted it, and it means nothing to cargo. */
const DROPPED_RESPONSE_HEADERS = ["warning"];

/**
 * The upstream over HTTP: undici's RFC 9111 cache (in memory) in front of a keep-alive agent. Conditional requests
 * are answered here from the cache instead of being forwarded, because undici revalidates with its own validators
 * and would turn a client's 304 into a full 200.
 */
export function createHttpUpstream(options: HttpUpstreamOptions): HttpUpstream {
  const agent = new Agent({
    connect: { timeout: Math.min(options.timeoutMs, 10_000) },
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });
  const dispatcher = agent.compose(
    interceptors.cache({
      store: new BoundedMemoryCacheStore(options.cacheBounds ?? DEFAULT_CACHE_BOUNDS),
      type: "shared",
    }),
  );
  const origin = options.base.origin;
  const basePath = options.base.pathname;

  return {
    async fetch(path: string, headers: Headers): Promise<Response> {
      const answer = await dispatcher.request({
        origin,
        path: basePath + path,
        method: "GET",
        headers: upstreamRequestHeaders(headers),
      });
      const raw = Buffer.from(await answer.body.arrayBuffer());
      const responseHeaders = webHeadersOf(answer.headers);
      if (answer.statusCode === 200 && isNotModified(headers, responseHeaders))
        return notModifiedResponse(responseHeaders);
      const decoded = await decodeContent(responseHeaders.get("content-encoding"), raw).catch((error: unknown) => {
        throw new Error(
          `upstream body of ${path} could not be decoded: ${error instanceof Error ? error.message : String(error)}`,
        );
      });
      if (decoded !== null && decoded !== raw) {
        responseHeaders.delete("content-encoding");
        responseHeaders.delete("content-length");
      }
      // Node's Buffers here are backed by plain ArrayBuffers (never shared), which is what BodyInit asks for.
      const body = bodylessStatus(answer.statusCode) ? null : ((decoded ?? raw) as Uint8Array<ArrayBuffer>);
      return new Response(body, { status: answer.statusCode, headers: responseHeaders });
    },
    close: () => agent.close(),
  };
}

function upstreamRequestHeaders(headers: Headers): Record<string, string> {
  const result: Record<string, string> = {};
  headers.forEach((value, name) => {
    if (!(CONDITIONAL_REQUEST_HEADERS as readonly string[]).includes(name)) result[name] = value;
  });
  result["accept-encoding"] = REQUESTED_CONTENT_CODING;
  return result;
}

function webHeadersOf(headers: Dispatcher.ResponseData["headers"]): Headers {
  const result = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || DROPPED_RESPONSE_HEADERS.includes(name)) continue;
    for (const one of Array.isArray(value) ? value : [value]) result.append(name, one);
  }
  return result;
}

function bodylessStatus(status: number): boolean {
  return status === 204 || status === 304 || (status >= 100 && status < 200);
}
