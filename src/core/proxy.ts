import { filteredMaxAge, remainingUpstreamLifetime } from "./cache-control.ts";
import { COOLDOWN_HEADER, describeFilter } from "./cooldown-header.ts";
import { type CrateDeciderOptions, createCrateDecider, messageOf, upstreamUnavailable } from "./crate-decider.ts";
import { filteredEtag } from "./etag.ts";
import { explainIndexFile, formatExplanationText } from "./explain.ts";
import { filteredBodyBytes } from "./filtered-body.ts";
import { type FreshnessSource, NO_FRESHNESS } from "./freshness.ts";
import { ifNoneMatchHolds } from "./if-none-match.ts";
import type { FilteredIndexFile } from "./index-filter.ts";
import { responseOfBytes } from "./known-body.ts";
import { systemClock } from "./ports.ts";
import { plainText, withoutBody } from "./responses.ts";
import { parseRoute } from "./route.ts";
import { buildStatus, type ServiceInfo } from "./status.ts";
import type { UnixSeconds } from "./time.ts";
import { type CooldownWindow, isPassThrough } from "./window.ts";

export interface CooldownProxyOptions extends CrateDeciderOptions {
  /** Cache lifetime of a filtered file when upstream gives none. */
  readonly defaultMaxAge?: UnixSeconds;
  /** Cache lifetime cap while some version's age is unknown. */
  readonly unknownAgeMaxAge?: UnixSeconds;
  /** What `/-/status` reports as data freshness; without it, status says no data is known. */
  readonly freshness?: FreshnessSource;
  readonly service?: ServiceInfo;
  /** Hears of every index file the proxy filters, with every line's verdict (a home's metrics count them). */
  readonly onFiltered?: (filtered: FilteredIndexFile) => void;
}

export type CooldownProxy = (request: Request) => Promise<Response>;

const ALLOW = "GET, HEAD";
/** Headers that describe one connection, not the resource; never copied between hops. */
const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"];
/** Request headers forwarded on pass-through, so upstream can answer conditionals itself. */
const PASS_THROUGH_REQUEST_HEADERS = ["user-agent", "if-none-match", "if-modified-since", "accept"];

export function createCooldownProxy(options: CooldownProxyOptions): CooldownProxy {
  const clock = options.clock ?? systemClock;
  const defaultMaxAge = options.defaultMaxAge ?? 60;
  const unknownAgeMaxAge = options.unknownAgeMaxAge ?? 60;
  const service = options.service ?? { version: "unknown", home: "node" };
  const { decide, fetchUpstream } = createCrateDecider(options);

  async function passThrough(request: Request, path: string): Promise<Response> {
    const headers = new Headers();
    for (const name of PASS_THROUGH_REQUEST_HEADERS) {
      const value = request.headers.get(name);
      if (value !== null) headers.set(name, value);
    }
    let upstream: Response;
    try {
      upstream = await fetchUpstream(path, headers);
    } catch (error) {
      return upstreamUnavailable(error);
    }
    const responseHeaders = new Headers(upstream.headers);
    for (const name of HOP_BY_HOP) responseHeaders.delete(name);
    return new Response(upstream.body, {
      status: upstream.status,
      statusText: upstream.statusText,
      headers: responseHeaders,
    });
  }

  async function filtered(request: Request, name: string, path: string, window: CooldownWindow): Promise<Response> {
    const decided = await decide(name, path, window, request.headers.get("user-agent"));
    if (!decided.ok) return decided.response;
    const { file, filtered, upstreamHeaders, upstreamBytes, now } = decided;
    options.onFiltered?.(filtered);
    const made = options.timings === undefined ? 0 : performance.now();
    const body = filteredBodyBytes(upstreamBytes, file.textLength, filtered);
    const etag = await filteredEtag(upstreamHeaders.get("etag"), filtered.lineCount, filtered.hiddenLines, () => body);
    options.timings?.add("body", performance.now() - made);
    const maxAge = filteredMaxAge({
      now,
      upstreamMaxAge: remainingUpstreamLifetime(upstreamHeaders),
      nextChangeAt: filtered.nextChangeAt,
      hasUnknownAges: filtered.unknownAges > 0,
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
    if (request.method === "HEAD") return new Response(null, { status: 200, headers });
    return responseOfBytes(body, { status: 200, headers });
  }

  async function explain(request: Request, name: string, path: string, window: CooldownWindow): Promise<Response> {
    const decided = await decide(name, path, window, request.headers.get("user-agent"), true);
    if (!decided.ok) return decided.response;
    const explanation = explainIndexFile(name, window, decided.now, decided.file, decided.filtered);
    if (wantsJson(request)) return json(explanation);
    return new Response(formatExplanationText(explanation), {
      headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
    });
  }

  async function status(): Promise<Response> {
    let freshness = NO_FRESHNESS;
    let problem: string | null = null;
    if (options.freshness !== undefined) {
      try {
        freshness = await options.freshness.freshness();
      } catch (error) {
        problem = `freshness data unavailable: ${messageOf(error)}`;
      }
    }
    const body = buildStatus(service, options.rules, freshness, clock.now());
    if (problem !== null) body.data.problems.unshift(problem);
    return json(body);
  }

  return async function handle(request: Request): Promise<Response> {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return plainText(405, `method ${request.method} not allowed; the index is read-only (GET, HEAD)`, {
        allow: ALLOW,
      });
    }
    const parsed = parseRoute(new URL(request.url).pathname);
    if (!parsed.ok) return plainText(404, parsed.message);
    const route = parsed.route;
    let response: Response;
    switch (route.kind) {
      case "status":
        response = await status();
        break;
      case "explain":
        response = await explain(request, route.name, route.path, route.window);
        break;
      case "index":
        if (route.target.kind === "crate" && !isPassThrough(route.window)) {
          // Filtered responses build HEAD themselves, with the GET body's length.
          return filtered(request, route.target.name, route.target.path, route.window);
        }
        response = await passThrough(request, route.target.kind === "config" ? "config.json" : route.target.path);
        break;
    }
    return request.method === "HEAD" ? withoutBody(response) : response;
  };
}

function wantsJson(request: Request): boolean {
  return (request.headers.get("accept") ?? "").toLowerCase().includes("application/json");
}

function json(body: unknown): Response {
  return new Response(`${JSON.stringify(body, null, 2)}\n`, {
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
}
