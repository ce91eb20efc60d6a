import { maxAgeOf, filteredMaxAge } from "./cache-control.ts";
import { COOLDOWN_HEADER, describeFilter } from "./cooldown-header.ts";
import { strongEtagFor } from "./etag.ts";
import { ifNoneMatchHolds } from "./if-none-match.ts";
import { scanIndexFile, type ScannedIndexFile } from "./index-file.ts";
import { filterIndexFile, needsPublishTimes, type FilteredIndexFile } from "./index-filter.ts";
import type { VisibilityRules } from "./policy.ts";
import { systemClock, type Clock, type PublishTimes, type Upstream } from "./ports.ts";
import { parseIndexRequest } from "./request.ts";
import { plainText, withoutBody } from "./responses.ts";
import type { UnixSeconds } from "./time.ts";
import { isPassThrough, type CooldownWindow } from "./window.ts";

export interface CooldownProxyOptions {
  readonly upstream: Upstream;
  readonly publishTimes: PublishTimes;
  readonly rules: VisibilityRules;
  readonly clock?: Clock;
  /** How long to wait for upstream before answering 503 (cargo retries). */
  readonly upstreamTimeoutMs?: number;
  /** Cache lifetime of a filtered file when upstream gives none. */
  readonly defaultMaxAge?: UnixSeconds;
  /** Cache lifetime cap while some version's age is unknown. */
  readonly unknownAgeMaxAge?: UnixSeconds;
}

export type CooldownProxy = (request: Request) => Promise<Response>;

const ALLOW = "GET, HEAD";
/** Headers that describe one connection, not the resource; never copied between hops. */
const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"];
/** Request headers forwarded on pass-through, so upstream can answer conditionals itself. */
const PASS_THROUGH_REQUEST_HEADERS = ["if-none-match", "if-modified-since", "accept"];
const RETRY_AFTER_SECONDS = "5";

/** The outcome of fetching and deciding one crate's index file: what explain, check and the proxy all start from. */
export type DecidedIndexFile =
  | { ok: true; file: ScannedIndexFile; filtered: FilteredIndexFile; upstreamHeaders: Headers }
  | { ok: false; response: Response };

export function createCooldownProxy(options: CooldownProxyOptions): CooldownProxy {
  const clock = options.clock ?? systemClock;
  const timeoutMs = options.upstreamTimeoutMs ?? 15_000;
  const defaultMaxAge = options.defaultMaxAge ?? 60;
  const unknownAgeMaxAge = options.unknownAgeMaxAge ?? 60;

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

  async function passThrough(request: Request, path: string): Promise<Response> {
    const headers = forwardedHeaders(request, PASS_THROUGH_REQUEST_HEADERS);
    let upstream: Response;
    try {
      upstream = await fetchUpstream(path, headers);
    } catch (error) {
      return upstreamUnavailable(error);
    }
    const responseHeaders = new Headers(upstream.headers);
    for (const name of HOP_BY_HOP) responseHeaders.delete(name);
    return new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers: responseHeaders });
  }

  async function decide(name: string, path: string, window: CooldownWindow, userAgent: string | null): Promise<DecidedIndexFile> {
    const headers = new Headers();
    if (userAgent !== null) headers.set("user-agent", userAgent);
    let upstream: Response;
    try {
      upstream = await fetchUpstream(path, headers);
    } catch (error) {
      return { ok: false, response: upstreamUnavailable(error) };
    }
    if (upstream.status === 404 || upstream.status === 410 || upstream.status === 451) {
      // cargo ≥ 1.96 treats 410/451 as hard errors; "not found" is what the user needs to see.
      await upstream.body?.cancel();
      return { ok: false, response: plainText(404, `crate "${name}" not found upstream (upstream answered ${upstream.status})`) };
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
      return { ok: false, response: plainText(502, `upstream sent ${path} with content-encoding "${encoding}", which this proxy cannot decode`) };
    }
    let text: string;
    try {
      // fatal: a body that is not UTF-8 cannot be filtered faithfully; ignoreBOM keeps every byte as it came.
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(await upstream.arrayBuffer());
    } catch (error) {
      if (error instanceof TypeError) return { ok: false, response: plainText(502, `upstream sent ${path} as invalid UTF-8`) };
      return { ok: false, response: upstreamUnavailable(error) };
    }
    const file = scanIndexFile(text);
    if (file.lines.length > 0 && file.lines.every((line) => line.version === null)) {
      return { ok: false, response: plainText(502, `upstream sent ${path} without a single readable index line`) };
    }
    let record = null;
    if (needsPublishTimes(file)) {
      try {
        record = await options.publishTimes.lookup(name);
      } catch (error) {
        return {
          ok: false,
          response: plainText(503, `timestamp store unavailable for ${name}: ${messageOf(error)}`, { "retry-after": RETRY_AFTER_SECONDS }),
        };
      }
    }
    const filtered = filterIndexFile(file, record, window, clock.now(), options.rules);
    return { ok: true, file, filtered, upstreamHeaders: upstream.headers };
  }

  async function filtered(request: Request, name: string, path: string, window: CooldownWindow): Promise<Response> {
    const decided = await decide(name, path, window, request.headers.get("user-agent"));
    if (!decided.ok) return decided.response;
    const { filtered, upstreamHeaders } = decided;
    const body = new TextEncoder().encode(filtered.body);
    const etag = await strongEtagFor(body);
    const maxAge = filteredMaxAge({
      now: clock.now(),
      upstreamMaxAge: maxAgeOf(upstreamHeaders.get("cache-control")),
      nextVisibleAt: filtered.nextVisibleAt,
      hasUnknownAges: filtered.hidden["unknown-publish-time"] > 0,
      defaultMaxAge,
      unknownAgeMaxAge,
    });
    const headers = new Headers({
      "content-type": "text/plain; charset=utf-8",
      etag,
      "cache-control": `public, max-age=${maxAge}`,
      [COOLDOWN_HEADER]: describeFilter(window, filtered),
    });
    if (!ifNoneMatchHolds(request.headers.get("if-none-match"), etag)) {
      return new Response(null, { status: 304, headers });
    }
    headers.set("content-length", String(body.byteLength));
    return new Response(request.method === "HEAD" ? null : body, { status: 200, headers });
  }

  return async function handle(request: Request): Promise<Response> {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return plainText(405, `method ${request.method} not allowed; the index is read-only (GET, HEAD)`, { allow: ALLOW });
    }
    const parsed = parseIndexRequest(new URL(request.url).pathname);
    if (!parsed.ok) return plainText(404, parsed.message);
    const { window, target } = parsed.request;
    if (target.kind === "config" || isPassThrough(window)) {
      const response = await passThrough(request, target.kind === "config" ? "config.json" : target.path);
      return request.method === "HEAD" ? withoutBody(response) : response;
    }
    return filtered(request, target.name, target.path, window);
  };
}

class UpstreamTimeout extends Error {
  override readonly name = "UpstreamTimeout";
  constructor() {
    super("upstream did not answer in time");
  }
}

function upstreamUnavailable(error: unknown): Response {
  return plainText(503, `upstream unavailable: ${messageOf(error)}`, { "retry-after": RETRY_AFTER_SECONDS });
}

function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n", 1)[0] ?? "";
}

function forwardedHeaders(request: Request, names: readonly string[]): Headers {
  const headers = new Headers();
  const userAgent = request.headers.get("user-agent");
  if (userAgent !== null) headers.set("user-agent", userAgent);
  for (const name of names) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  return headers;
}
