import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { maxAgeOf } from "../core/cache-control.ts";
import { COOLDOWN_HEADER } from "../core/cooldown-header.ts";
import { ifNoneMatchHolds } from "../core/if-none-match.ts";
import type { Clock } from "../core/ports.ts";
import type { CooldownProxy } from "../core/proxy.ts";
import type { UnixSeconds } from "../core/time.ts";
import { type ContentCoding, negotiateContentCoding } from "./accept-encoding.ts";
import { compressSync, MIN_COMPRESSED_BYTES } from "./client-compression.ts";
import { etagForCoding, etagForNotModified, identityIfNoneMatch } from "./coded-etag.ts";

/** Anything that changes when a recorded answer may no longer be what the proxy would say now; compared with `===`. */
export type CacheGeneration = number | string;

/**
 * A shared cache of the proxy's own filtered answers, in front of it. The core already says how long a filtered file
 * may be reused (`Cache-Control: public, max-age=N`, never past the next maturing version or upstream's lifetime), so
 * replaying it within that lifetime is exactly what any shared cache in front of the proxy may do. Entries also end
 * when the timestamp database or the policy changes (`generation`), since a recorded time or a rule may have moved.
 * Hits are answered straight on node:http, without building web Request/Response objects: that is what makes a warm
 * file cheap to serve.
 */
export class FilteredResponseCache {
  private readonly entries = new Map<string, CachedFile>();
  private bytes = 0;

  constructor(
    private readonly clock: Clock,
    /** Changes whenever the timestamp database (SQLite `PRAGMA data_version`) or the policy changes. */
    private readonly generation: () => CacheGeneration,
    private readonly bounds: { maxEntries: number; maxBytes: number } = {
      maxEntries: 20_000,
      maxBytes: 256 * 1024 * 1024,
    },
  ) {}

  /** A fresh entry for this path, or undefined. */
  fresh(path: string): CachedFile | undefined {
    const entry = this.entries.get(path);
    if (entry === undefined) return undefined;
    if (this.clock.now() >= entry.expiresAt || entry.generation !== this.generation()) {
      this.drop(path, entry);
      return undefined;
    }
    return entry;
  }

  store(path: string, headers: Headers, body: Uint8Array, generation: CacheGeneration): void {
    const maxAge = maxAgeOf(headers.get("cache-control"));
    if (maxAge === null || maxAge <= 0 || body.byteLength > this.bounds.maxBytes / 16) return;
    const previous = this.entries.get(path);
    if (previous !== undefined) this.drop(path, previous);
    const entry = new CachedFile(
      headers,
      Buffer.from(body.buffer, body.byteOffset, body.byteLength),
      this.clock.now() + maxAge,
      generation,
    );
    this.entries.set(path, entry);
    this.bytes += entry.body.byteLength;
    for (const [oldest, old] of this.entries) {
      if (this.entries.size <= this.bounds.maxEntries && this.bytes <= this.bounds.maxBytes) break;
      this.drop(oldest, old);
    }
  }

  currentGeneration(): CacheGeneration {
    return this.generation();
  }

  private drop(path: string, entry: CachedFile): void {
    this.entries.delete(path);
    this.bytes -= entry.body.byteLength;
  }
}

/** One filtered answer as the core gave it (identity), with its coded variants made once, on first demand. */
export class CachedFile {
  readonly etag: string;
  private readonly coded = new Map<ContentCoding, Buffer>();

  constructor(
    readonly headers: Headers,
    readonly body: Buffer,
    readonly expiresAt: UnixSeconds,
    readonly generation: CacheGeneration,
  ) {
    this.etag = headers.get("etag") as string;
  }

  bodyFor(coding: ContentCoding): Buffer {
    let coded = this.coded.get(coding);
    if (coded === undefined) {
      coded = compressSync(coding, this.body);
      this.coded.set(coding, coded);
    }
    return coded;
  }
}

/** Records every filtered 200 the core produces for GET (the ones carrying X-Cooldown) into the cache. */
export function recordingFilteredResponses(proxy: CooldownProxy, cache: FilteredResponseCache): CooldownProxy {
  return async (request) => {
    // Read before the core works: an ingest committed meanwhile must not be stamped onto an answer made from older data.
    const generation = cache.currentGeneration();
    const response = await proxy(request);
    if (request.method !== "GET" || response.status !== 200 || !response.headers.has(COOLDOWN_HEADER)) return response;
    const body = new Uint8Array(await response.arrayBuffer());
    cache.store(new URL(request.url).pathname, response.headers, body, generation);
    return new Response(body, { status: 200, headers: response.headers });
  };
}

/** Answers GET/HEAD for cached filtered files directly; everything else goes to `listener`. */
export function withFilteredResponseCache(
  listener: RequestListener,
  cache: FilteredResponseCache,
  clock: Clock,
): RequestListener {
  return (request: IncomingMessage, response: ServerResponse) => {
    const method = request.method;
    const target = request.url ?? "";
    const entry = (method === "GET" || method === "HEAD") && !target.includes("?") ? cache.fresh(target) : undefined;
    if (entry === undefined) return listener(request, response);

    const coding =
      entry.body.byteLength >= MIN_COMPRESSED_BYTES
        ? negotiateContentCoding(headerOf(request, "accept-encoding"))
        : null;
    const headers: Record<string, string> = {};
    for (const [name, value] of entry.headers) headers[name] = value;
    headers["cache-control"] = `public, max-age=${Math.max(0, Math.floor(entry.expiresAt - clock.now()))}`;
    headers.vary = "Accept-Encoding";
    const ifNoneMatch = headerOf(request, "if-none-match");
    if (ifNoneMatch !== null && !ifNoneMatchHolds(identityIfNoneMatch(ifNoneMatch), entry.etag)) {
      headers.etag = etagForNotModified(entry.etag, ifNoneMatch, coding);
      delete headers["content-length"];
      response.writeHead(304, headers);
      response.end();
      return;
    }
    // HEAD answers identity headers, as the web-level compression does.
    const body = coding === null || method === "HEAD" ? entry.body : entry.bodyFor(coding);
    if (coding !== null && method === "GET") {
      headers["content-encoding"] = coding;
      headers.etag = etagForCoding(entry.etag, coding);
    }
    headers["content-length"] = String(body.byteLength);
    response.writeHead(200, headers);
    response.end(method === "HEAD" ? undefined : body);
  };
}

function headerOf(request: IncomingMessage, name: string): string | null {
  const value = request.headers[name];
  return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
}
