import { type IndexScanOptions, type ScannedIndexFile, scanIndexFile } from "./index-file.ts";
import { type FilteredIndexFile, filterIndexFile, needsPublishTimes } from "./index-filter.ts";
import { type PhaseTimings, timed, timedAsync } from "./phase-timings.ts";
import { filterWithLineShapes, findLineShapes, type LineShapes } from "./plain-line-filter.ts";
import type { VisibilityRules } from "./policy.ts";
import { type Clock, type PublishTimes, type ScanCache, systemClock, type Upstream } from "./ports.ts";
import type { CrateRecord } from "./publish-times.ts";
import { plainText } from "./responses.ts";
import { decodeKept, encodeKeptScan, encodeKeptShapes, scanCacheKey } from "./scan-cache.ts";
import type { UnixSeconds } from "./time.ts";
import { decodeUtf8Exactly } from "./utf8.ts";
import type { CooldownWindow } from "./window.ts";

/** Where the decisions come from: the same ports every route and command uses. */
export interface CrateDeciderOptions {
  readonly upstream: Upstream;
  readonly publishTimes: PublishTimes;
  readonly rules: VisibilityRules;
  readonly clock?: Clock;
  /** How long to wait for upstream before giving up (503; cargo retries). */
  readonly upstreamTimeoutMs?: number;
  /** How index lines are read: the cheapest way differs between engines (see `IndexScanOptions`); what is read does not. */
  readonly scan?: IndexScanOptions;
  /** Where scans of upstream bodies are kept between requests (scan-cache.ts); none by default. */
  readonly scanCache?: ScanCache;
  /** Where to report how long each phase took (phase-timings.ts); nothing is measured without it. */
  readonly timings?: PhaseTimings;
  /**
   * For a home where reading a line is dear (the edge): a body of more than `fromLines` lines without a kept scan is
   * filtered by finding its plain lines in place (plain-line-filter.ts) instead of reading every line, and no scan of
   * it is kept (it could not be made within the request's means). Lines are counted only in bodies of at least
   * `fromBytes` bytes. None by default.
   */
  readonly plainLines?: { readonly fromBytes: number; readonly fromLines: number };
  /**
   * How an upstream body is decoded: as `decodeUtf8Exactly` decodes it (the default), or the same string made a way
   * cheaper in some engine (`decodeUtf8ExactlyByResponse` at the edge). Throws TypeError when the body is not UTF-8.
   */
  readonly decodeBody?: (bytes: Uint8Array<ArrayBuffer>) => Promise<string>;
}

/**
 * One crate's index file, fetched and decided under a window at `now` — or the response that says why it could not
 * be (404, 502, 503). The proxy, the explain route and the lockfile check all start from this, so they cannot differ.
 */
export type DecidedIndexFile =
  | {
      ok: true;
      file: ScannedIndexFile;
      filtered: FilteredIndexFile;
      now: UnixSeconds;
      upstreamHeaders: Headers;
      /** The upstream body exactly as received (identity-coded). */
      upstreamBytes: Uint8Array<ArrayBuffer>;
    }
  | { ok: false; response: Response };

/** `everyLine`: every line's verdict will be asked for (explain), so big bodies are scanned whole, not by plain lines. */
export type CrateDecider = (
  name: string,
  path: string,
  window: CooldownWindow,
  userAgent: string | null,
  everyLine?: boolean,
) => Promise<DecidedIndexFile>;

export const RETRY_AFTER_SECONDS = "5";

/** How long an upstream answer may take before the request is answered 503, unless a home sets its own. */
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 15_000;

export function createCrateDecider(options: CrateDeciderOptions): {
  decide: CrateDecider;
  fetchUpstream: (path: string, headers: Headers) => Promise<Response>;
} {
  const clock = options.clock ?? systemClock;
  const timeoutMs = options.upstreamTimeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;
  const decodeBody = options.decodeBody ?? (async (bytes: Uint8Array<ArrayBuffer>) => decodeUtf8Exactly(bytes));

  async function fetchUpstream(path: string, headers: Headers): Promise<Response> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new UpstreamTimeout()), timeoutMs);
    });
    try {
      return await Promise.race([options.upstream.fetch(path, headers), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async function decide(
    name: string,
    path: string,
    window: CooldownWindow,
    userAgent: string | null,
    everyLine = false,
  ): Promise<DecidedIndexFile> {
    const headers = new Headers();
    if (userAgent !== null) headers.set("user-agent", userAgent);
    const timings = options.timings;
    const asked = timings === undefined ? 0 : performance.now();
    let upstream: Response;
    try {
      upstream = await fetchUpstream(path, headers);
    } catch (error) {
      return { ok: false, response: upstreamUnavailable(error) };
    }
    if (upstream.status === 404 || upstream.status === 410 || upstream.status === 451) {
      // cargo ≥ 1.96 treats 410/451 as hard errors; "not found" is what the user needs to see.
      await upstream.body?.cancel();
      return {
        ok: false,
        response: plainText(404, `crate "${name}" not found upstream (upstream answered ${upstream.status})`),
      };
    }
    if (upstream.status !== 200) {
      await upstream.body?.cancel();
      if (upstream.status >= 500 || upstream.status === 429) {
        return {
          ok: false,
          response: plainText(503, `upstream answered ${upstream.status} for ${path}; try again`, {
            "retry-after": upstream.headers.get("retry-after") ?? RETRY_AFTER_SECONDS,
          }),
        };
      }
      return { ok: false, response: plainText(502, `upstream answered ${upstream.status} for ${path}`) };
    }
    const encoding = upstream.headers.get("content-encoding");
    if (encoding !== null && encoding.toLowerCase() !== "identity") {
      await upstream.body?.cancel();
      return {
        ok: false,
        response: plainText(
          502,
          `upstream sent ${path} with content-encoding "${encoding}", which this proxy cannot decode`,
        ),
      };
    }
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = new Uint8Array(await upstream.arrayBuffer());
    } catch (error) {
      return { ok: false, response: upstreamUnavailable(error) };
    }
    timings?.add("upstream", performance.now() - asked);
    const cache = options.scanCache;
    const key = cache === undefined ? null : scanCacheKey(path, upstream.headers.get("etag"), bytes.byteLength);
    const kept = cache === undefined || key === null ? null : await keptOf(cache, key, bytes);
    let file = kept !== null && "scan" in kept ? kept.scan : null;
    let record: CrateRecord | null | undefined;
    let text: string | undefined;
    // A body of many lines of which no scan is kept: its plain lines found in place (plain-line-filter.ts), from the
    // line shapes an earlier request kept for these bytes or from shapes found now (and kept). This needs the record
    // first; should it not come, or should the file not suit, the body goes the usual way below (which asks again only
    // if it must).
    const plainLines = options.plainLines;
    if (file === null && !everyLine && plainLines !== undefined && bytes.byteLength >= plainLines.fromBytes) {
      const keptShapes = kept !== null && "shapes" in kept ? kept.shapes : null;
      if (keptShapes === null) {
        text = (await decoded(bytes)) ?? undefined;
        if (text === undefined) return { ok: false, response: notUtf8(path) };
      }
      const body = text;
      const looked = body === undefined || hasMoreLinesThan(body, plainLines.fromLines) ? await lookUp(name) : null;
      if (looked?.ok === true) {
        record = looked.record;
        const now = clock.now();
        const found = timed(timings, "plain-lines", () => {
          const shapes = keptShapes ?? findLineShapes(body as string, looked.record);
          const source = body === undefined ? ({ text: null, bytes } as const) : ({ text: body, bytes: null } as const);
          return shapes === null
            ? null
            : filterWithLineShapes(name, shapes, source, looked.record, window, now, options.rules, options.scan);
        });
        if (found !== null) {
          if (body !== undefined && cache !== undefined && key !== null) {
            await keep(cache, key, () => encodeKeptShapes(found.shapes, body, bytes));
          }
          const { file, filtered } = found;
          return { ok: true, file, filtered, now, upstreamHeaders: upstream.headers, upstreamBytes: bytes };
        }
      }
    }
    if (file === null) {
      const scanned = await scanAfresh(bytes, text);
      if (scanned === null) return { ok: false, response: notUtf8(path) };
      if (cache !== undefined && key !== null) await keep(cache, key, () => encodeKeptScan(scanned, bytes));
      file = scanned;
    }
    if (file.lines.length > 0 && !hasReadableLine(file)) {
      return { ok: false, response: plainText(502, `upstream sent ${path} without a single readable index line`) };
    }
    if (record === undefined) {
      record = null;
      if (needsPublishTimes(file, options.rules)) {
        const looked = await lookUp(name);
        if (!looked.ok) return looked;
        record = looked.record;
      }
    }
    const now = clock.now();
    const filtered = timed(timings, "filter", () => filterIndexFile(name, file, record, window, now, options.rules));
    return { ok: true, file, filtered, now, upstreamHeaders: upstream.headers, upstreamBytes: bytes };
  }

  /** What an earlier request kept for these bytes, its scan or its line shapes (a cache that fails keeps nothing). */
  async function keptOf(
    cache: ScanCache,
    key: string,
    bytes: Uint8Array,
  ): Promise<{ scan: ScannedIndexFile } | { shapes: LineShapes } | null> {
    const kept = await timedAsync(options.timings, "scan-cache", () => cache.get(key).catch(() => null));
    return kept === null ? null : timed(options.timings, "scan", () => decodeKept(kept, bytes));
  }

  /** Keeps a scan; `make` gives its value when the cache stores it (null: nothing to keep). Never fails a request. */
  async function keep(cache: ScanCache, key: string, make: () => string | null): Promise<void> {
    await cache.put(key, make).catch(() => {});
  }

  /** Decodes and scans the body; null when it is not UTF-8. */
  async function scanAfresh(bytes: Uint8Array<ArrayBuffer>, known?: string): Promise<ScannedIndexFile | null> {
    const text = known ?? (await decoded(bytes));
    return text === null ? null : timed(options.timings, "scan", () => scanIndexFile(text, options.scan));
  }

  /** The body as text; null when it is not UTF-8. */
  async function decoded(bytes: Uint8Array<ArrayBuffer>): Promise<string | null> {
    try {
      return await timedAsync(options.timings, "decode", () => decodeBody(bytes));
    } catch {
      return null;
    }
  }

  /** The crate's record from the timestamp store, or the 503 that says it could not be read. */
  async function lookUp(
    name: string,
  ): Promise<{ ok: true; record: CrateRecord | null } | { ok: false; response: Response }> {
    try {
      return { ok: true, record: await timedAsync(options.timings, "lookup", () => options.publishTimes.lookup(name)) };
    } catch (error) {
      return {
        ok: false,
        response: plainText(503, `timestamp store unavailable for ${name}: ${messageOf(error)}`, {
          "retry-after": RETRY_AFTER_SECONDS,
        }),
      };
    }
  }

  return { decide, fetchUpstream };
}

/** Whether `text` has more than `lines` lines; counts no further than that. */
function hasMoreLinesThan(text: string, lines: number): boolean {
  let seen = 0;
  for (let at = text.indexOf("\n"); at !== -1 && at < text.length - 1; at = text.indexOf("\n", at + 1)) {
    if (++seen >= lines) return true;
  }
  return false;
}

function notUtf8(path: string): Response {
  return plainText(502, `upstream sent ${path} as invalid UTF-8`);
}

function hasReadableLine(file: ScannedIndexFile): boolean {
  for (const line of file.lines) if (line.version !== null) return true;
  return false;
}

class UpstreamTimeout extends Error {
  override readonly name = "UpstreamTimeout";
  constructor() {
    super("upstream did not answer in time");
  }
}

export function upstreamUnavailable(error: unknown): Response {
  return plainText(503, `upstream unavailable: ${messageOf(error)}`, { "retry-after": RETRY_AFTER_SECONDS });
}

export function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n", 1)[0] ?? "";
}
