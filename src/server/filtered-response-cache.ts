import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { maxAgeOf } from "../core/cache-control.ts";
import { COOLDOWN_HEADER } from "../core/cooldown-header.ts";
import { ifNoneMatchHolds } from "../core/if-none-match.ts";
import { bodyBytesOf } from "../core/known-body.ts";
import type { Clock } from "../core/ports.ts";
import type { CooldownProxy } from "../core/proxy.ts";
import type { UnixSeconds } from "../core/time.ts";
import {
  type CacheMemory,
  type CacheMemoryMember,
  ENTRY_OVERHEAD_BYTES,
  exactCopy,
  stringBytes,
} from "../node/cache-memory.ts";
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
export class FilteredResponseCache implements CacheMemoryMember {
  /** Path → entry; Map order is recency order (least recently used first). */
  private readonly entries = new Map<string, CachedFile>();
  private bytes = 0;

  constructor(
    private readonly clock: Clock,
    /** Changes whenever the timestamp database (SQLite `PRAGMA data_version`) or the policy changes. */
    private readonly generation: () => CacheGeneration,
    /** The memory bound every byte kept here is charged to, shared with the home's other caches. */
    private readonly memory: CacheMemory,
  ) {
    memory.join(this);
  }

  /** A fresh entry for this path, or undefined. */
  fresh(path: string): CachedFile | undefined {
    const entry = this.entries.get(path);
    if (entry === undefined) return undefined;
    if (this.clock.now() >= entry.expiresAt || entry.generation !== this.generation()) {
      this.drop(path);
      return undefined;
    }
    this.entries.delete(path);
    this.entries.set(path, entry);
    entry.lastUse = this.memory.use();
    return entry;
  }

  store(path: string, headers: Headers, body: Uint8Array, generation: CacheGeneration): void {
    const maxAge = maxAgeOf(headers.get("cache-control"));
    if (maxAge === null || maxAge <= 0) return;
    const record: Record<string, string> = {};
    let bytes = ENTRY_OVERHEAD_BYTES + stringBytes(path) + body.byteLength;
    for (const [name, value] of headers) {
      record[name] = value;
      bytes += stringBytes(name) + stringBytes(value);
    }
    if (bytes > this.memory.maxEntryBytes) return;
    this.drop(path);
    const entry: CachedFile = new CachedFile(
      record,
      exactCopy([body], body.byteLength),
      this.clock.now() + maxAge,
      generation,
      bytes,
      this.memory.use(),
      (coded): boolean => this.grow(path, entry, coded),
    );
    this.entries.set(path, entry);
    this.bytes += bytes;
    this.memory.charge(bytes);
  }

  currentGeneration(): CacheGeneration {
    return this.generation();
  }

  /** Bytes this cache charges to the memory bound now. */
  get size(): number {
    return this.bytes;
  }

  oldestUse(): number | undefined {
    for (const entry of this.entries.values()) return entry.lastUse;
    return undefined;
  }

  evictOldest(): void {
    for (const path of this.entries.keys()) {
      this.drop(path);
      return;
    }
  }

  /** An entry made a compressed copy: kept (and charged) only while the entry itself is. */
  private grow(path: string, entry: CachedFile, bytes: number): boolean {
    if (this.entries.get(path) !== entry) return false;
    entry.bytes += bytes;
    this.bytes += bytes;
    this.memory.charge(bytes);
    return true;
  }

  private drop(path: string): void {
    const entry = this.entries.get(path);
    if (entry === undefined) return;
    this.entries.delete(path);
    this.bytes -= entry.bytes;
    this.memory.release(entry.bytes);
  }
}

/** One filtered answer as the core gave it (identity), with its coded variants made once, on first demand. */
export class CachedFile {
  readonly etag: string;
  private readonly coded = new Map<ContentCoding, Buffer>();

  constructor(
    readonly headers: Readonly<Record<string, string>>,
    readonly body: Buffer,
    readonly expiresAt: UnixSeconds,
    readonly generation: CacheGeneration,
    /** What the entry charges to the memory bound: body, coded copies, headers, key and a per-entry allowance. */
    public bytes: number,
    public lastUse: number,
    /** Asks to keep a coded copy of this many bytes; false when the entry is no longer cached. */
    private readonly keepCoded: (bytes: number) => boolean,
  ) {
    this.etag = headers.etag as string;
  }

  bodyFor(coding: ContentCoding): Buffer {
    let coded = this.coded.get(coding);
    if (coded === undefined) {
      coded = compressSync(coding, this.body);
      if (this.keepCoded(coded.byteLength)) {
        coded = exactCopy([coded], coded.byteLength);
        this.coded.set(coding, coded);
      }
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
    const body = await bodyBytesOf(response);
    cache.store(new URL(request.url).pathname, response.headers, body, generation);
    return new Response(body, { status: 200, headers: response.headers });
  };
}

/**
 * Answers GET/HEAD for cached filtered files directly; everything else goes to `listener`. `onReplay` hears of each
 * response answered from the cache.
 */
export function withFilteredResponseCache(
  listener: RequestListener,
  cache: FilteredResponseCache,
  clock: Clock,
  onReplay?: (response: ServerResponse) => void,
): RequestListener {
  return (request: IncomingMessage, response: ServerResponse) => {
    const method = request.method;
    const target = request.url ?? "";
    const entry = (method === "GET" || method === "HEAD") && !target.includes("?") ? cache.fresh(target) : undefined;
    if (entry === undefined) return listener(request, response);
    onReplay?.(response);

    const coding =
      entry.body.byteLength >= MIN_COMPRESSED_BYTES
        ? negotiateContentCoding(headerOf(request, "accept-encoding"))
        : null;
    const headers: Record<string, string> = { ...entry.headers };
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
