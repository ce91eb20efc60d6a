import { Agent, type Dispatcher, interceptors } from "undici";
import type { Upstream } from "../core/ports.ts";
import { BoundedMemoryCacheStore } from "./bounded-cache-store.ts";
import { CacheMemory, DEFAULT_CACHE_MEMORY_BYTES } from "./cache-memory.ts";
import { decodeContent } from "./content-decoding.ts";
import { CONDITIONAL_REQUEST_HEADERS, isNotModified, notModifiedResponse } from "./upstream-conditionals.ts";

export interface HttpUpstreamOptions {
  /** The upstream index root, ending with `/` (see `parseUpstreamUrl`). */
  readonly base: URL;
  /** Connect, header and body deadlines, so a request the core gave up on does not hold a socket for long. */
  readonly timeoutMs: number;
  /** The memory bound the upstream cache is charged to (shared with the home's other caches). Default: its own. */
  readonly memory?: CacheMemory;
  /** Told about every request that reaches upstream and every answer the cache gave (metrics). */
  readonly observer?: UpstreamObserver;
}

/** How one request to upstream ended: its status class, a deadline that passed, or a failed connection. */
export type UpstreamOutcome = "1xx" | "2xx" | "3xx" | "4xx" | "5xx" | "timeout" | "connection-error";

/**
 * How one fetch was answered: from the cache without asking upstream (`hit`), after upstream confirmed the cached
 * copy with a 304 (`revalidated`), or by upstream (`miss`).
 */
export type UpstreamCacheResult = "hit" | "revalidated" | "miss";

export interface UpstreamObserver {
  /** One request that went over the network, with its duration until the whole answer arrived or it failed. */
  upstreamRequest(outcome: UpstreamOutcome, seconds: number): void;
  upstreamCache(result: UpstreamCacheResult): void;
}

/** An `Upstream` that owns sockets and a cache, and so must be closed. */
export interface HttpUpstream extends Upstream {
  /** Waits for requests in flight, then closes the sockets. */
  close(): Promise<void>;
  /** Fails every request in flight at once and closes the sockets (a drain that ran out of time). */
  destroy(): Promise<void>;
  /** Bytes the upstream cache holds now, as charged to the memory bound. */
  cachedBytes(): number;
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
  const store = new BoundedMemoryCacheStore(options.memory ?? new CacheMemory(DEFAULT_CACHE_MEMORY_BYTES));
  const observer = options.observer;
  // Interceptors apply inside out: the cache is outermost, so the observing one below it sees only network requests.
  const layers: Dispatcher.DispatcherComposeInterceptor[] = [];
  if (observer !== undefined) layers.push(observingNetworkRequests(observer));
  layers.push(interceptors.cache({ store, type: "shared" }));
  const dispatcher = agent.compose(layers);
  const origin = options.base.origin;
  const basePath = options.base.pathname;

  return {
    async fetch(path: string, headers: Headers): Promise<Response> {
      const network: NetworkProbe = { statuses: [] };
      const answer = await dispatcher.request({
        origin,
        path: basePath + path,
        method: "GET",
        headers: upstreamRequestHeaders(headers),
        ...(observer === undefined ? {} : { [NETWORK_PROBE]: network }),
      } as Dispatcher.RequestOptions);
      if (observer !== undefined) {
        const result =
          network.statuses.length === 0
            ? "hit"
            : network.statuses.at(-1) === 304 && answer.statusCode !== 304
              ? "revalidated"
              : "miss";
        observer.upstreamCache(result);
      }
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
    destroy: () => agent.destroy(),
    cachedBytes: () => store.size,
  };
}

/** Rides along a request's dispatch options through the cache, to the network interceptor, when one is asked. */
const NETWORK_PROBE = Symbol("crates-cooldown network probe");

interface NetworkProbe {
  /** Upstream's status of each network request made for this fetch (none when the cache answered). */
  statuses: number[];
}

/** An undici interceptor (placed under the cache) that times every network request and reports how it ended. */
function observingNetworkRequests(observer: UpstreamObserver): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (options, handler) => {
    const probe = (options as { [NETWORK_PROBE]?: NetworkProbe })[NETWORK_PROBE];
    const started = performance.now();
    let status: number | null = null;
    const seconds = () => (performance.now() - started) / 1000;
    const inner = handler as Dispatcher.DispatchHandler;
    return dispatch(options, {
      onRequestStart: (controller, context) => inner.onRequestStart?.(controller, context),
      onRequestUpgrade: (controller, statusCode, headers, socket) =>
        inner.onRequestUpgrade?.(controller, statusCode, headers, socket),
      onResponseStart: (controller, statusCode, headers, statusMessage) => {
        status = statusCode;
        probe?.statuses.push(statusCode);
        return inner.onResponseStart?.(controller, statusCode, headers, statusMessage);
      },
      onResponseData: (controller, chunk) => inner.onResponseData?.(controller, chunk),
      onResponseEnd: (controller, trailers) => {
        observer.upstreamRequest(statusClassOf(status ?? 0), seconds());
        return inner.onResponseEnd?.(controller, trailers);
      },
      onResponseError: (controller, error) => {
        observer.upstreamRequest(isTimeout(error) ? "timeout" : "connection-error", seconds());
        return inner.onResponseError?.(controller, error);
      },
    });
  };
}

function statusClassOf(status: number): UpstreamOutcome {
  const hundreds = Math.floor(status / 100);
  return hundreds >= 1 && hundreds <= 5 ? (`${hundreds}xx` as UpstreamOutcome) : "connection-error";
}

const TIMEOUT_CODES = ["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "ETIMEDOUT"];

function isTimeout(error: Error): boolean {
  return TIMEOUT_CODES.includes((error as NodeJS.ErrnoException).code ?? "");
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
