import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Freshness } from "../core/freshness.ts";
import type { FilteredIndexFile } from "../core/index-filter.ts";
import type { Clock } from "../core/ports.ts";
import { parseRoute } from "../core/route.ts";
import { isPassThrough } from "../core/window.ts";
import type { UpstreamCacheResult, UpstreamObserver, UpstreamOutcome } from "../node/http-upstream.ts";
import { requestPath } from "./access-log.ts";

/** Where the Node home answers Prometheus; never under a window prefix (`/7d/-/metrics` is a bad index path, 404). */
export const METRICS_PATH = "/-/metrics";

/** What a request asked for, as a bounded label: never the crate, the window or anything else the client chose. */
export type RouteKind = "index" | "pass-through" | "config" | "explain" | "status" | "metrics" | "refused";

/**
 * Why a line was hidden, as the label says it (the words of the X-Cooldown header); any other reason the core gives
 * is its own name, from the core's fixed set, so the label stays bounded.
 */
const HIDDEN_LABELS: Readonly<Record<string, string>> = {
  "unknown-publish-time": "unknown-age",
  "unreadable-line": "unreadable",
};

/** Why a line was kept: by its age alone (`old-enough`), or by the grant that showed it. */
const KEPT_LABELS: Readonly<Record<string, string>> = {
  "unknown-publish-time-shown": "unknown-age-shown",
};

export interface ServerMetricsSources {
  /** The timestamp database's freshness, read at scrape time. */
  readonly freshness: () => Freshness;
  readonly clock: Clock;
  /** Bytes each cache charges to the shared memory bound now, and the bound. */
  readonly cacheBytes: () => { readonly upstream: number; readonly replay: number; readonly limit: number };
}

/**
 * The Node home's Prometheus metrics, on a registry of its own (two servers in one process never share one).
 * Counters are bumped as requests are answered; the data ages and cache sizes are read when scraped.
 */
export class ServerMetrics implements UpstreamObserver {
  readonly registry = new Registry();
  private readonly requests: Counter<"route" | "status">;
  private readonly requestChildren = new Map<string, Counter.Internal>();
  private readonly upstreamRequests: Counter<"outcome">;
  private readonly upstreamSeconds: Histogram<"outcome">;
  private readonly upstreamCacheLookups: Counter<"result">;
  private readonly replayCacheLookups: Counter<"result">;
  private readonly lines: Counter<"verdict" | "reason">;

  constructor(sources: ServerMetricsSources) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: "crates_cooldown_requests_total",
      help: "Requests answered, by route kind and HTTP status.",
      labelNames: ["route", "status"],
      registers,
    });
    this.upstreamRequests = new Counter({
      name: "crates_cooldown_upstream_requests_total",
      help: "Requests sent to the upstream index over the network, by outcome: status class, timeout or connection error.",
      labelNames: ["outcome"],
      registers,
    });
    this.upstreamSeconds = new Histogram({
      name: "crates_cooldown_upstream_request_duration_seconds",
      help: "Time from sending a request to upstream until its whole answer arrived or it failed, by outcome.",
      labelNames: ["outcome"],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.upstreamCacheLookups = new Counter({
      name: "crates_cooldown_upstream_cache_requests_total",
      help: "Upstream files asked of the upstream cache: answered from it (hit), confirmed by upstream with a 304 (revalidated), or fetched (miss).",
      labelNames: ["result"],
      registers,
    });
    this.replayCacheLookups = new Counter({
      name: "crates_cooldown_replay_cache_requests_total",
      help: "Requests for filtered index files: replayed from the cache of filtered answers (hit) or decided by the core (miss).",
      labelNames: ["result"],
      registers,
    });
    this.lines = new Counter({
      name: "crates_cooldown_index_lines_total",
      help: "Index lines decided by the core, by verdict (kept or hidden) and reason; a replayed answer is not decided again.",
      labelNames: ["verdict", "reason"],
      registers,
    });
    new Gauge({
      name: "crates_cooldown_data_age_seconds",
      help: "Seconds since the dump watermark, the last feed poll and the last KV push, read from the timestamp database when scraped (absent: never happened).",
      labelNames: ["source"],
      registers,
      collect() {
        this.reset();
        const freshness = sources.freshness();
        const now = sources.clock.now();
        for (const [source, at] of [
          ["dump", freshness.dumpWatermark],
          ["feed", freshness.lastFeedPoll],
          ["kv-push", freshness.lastKvPush],
        ] as const) {
          if (at !== null) this.set({ source }, now - at);
        }
      },
    });
    new Gauge({
      name: "crates_cooldown_cache_memory_bytes",
      help: "Bytes each in-memory cache holds, as charged to the shared --cache-memory bound.",
      labelNames: ["cache"],
      registers,
      collect() {
        const bytes = sources.cacheBytes();
        this.set({ cache: "upstream" }, bytes.upstream);
        this.set({ cache: "replay" }, bytes.replay);
      },
    });
    new Gauge({
      name: "crates_cooldown_cache_memory_limit_bytes",
      help: "The --cache-memory bound shared by every in-memory cache.",
      registers,
      collect() {
        this.set(sources.cacheBytes().limit);
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  request(route: RouteKind, status: number): void {
    const key = `${route} ${status}`;
    let child = this.requestChildren.get(key);
    if (child === undefined) {
      child = this.requests.labels({ route, status: String(status) });
      this.requestChildren.set(key, child);
    }
    child.inc();
  }

  upstreamRequest(outcome: UpstreamOutcome, seconds: number): void {
    this.upstreamRequests.inc({ outcome });
    this.upstreamSeconds.observe({ outcome }, seconds);
  }

  upstreamCache(result: UpstreamCacheResult): void {
    this.upstreamCacheLookups.inc({ result });
  }

  replayCache(hit: boolean): void {
    this.replayCacheLookups.inc({ result: hit ? "hit" : "miss" });
  }

  /**
   * Counts every line of a filtered file by verdict and reason, from the counts the core keeps while deciding (never
   * from the per-line verdicts, which a core may make only on demand).
   */
  filtered(filtered: FilteredIndexFile): void {
    let granted = 0;
    for (const [kind, count] of Object.entries(filtered.keptBy)) {
      granted += count;
      if (count > 0) this.lines.inc({ verdict: "kept", reason: KEPT_LABELS[kind] ?? kind }, count);
    }
    if (filtered.kept > granted) this.lines.inc({ verdict: "kept", reason: "old-enough" }, filtered.kept - granted);
    for (const [reason, count] of Object.entries(filtered.hidden)) {
      if (count > 0) this.lines.inc({ verdict: "hidden", reason: HIDDEN_LABELS[reason] ?? reason }, count);
    }
  }

  /** The exposition, in Prometheus text format. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/**
 * Counts every answer by route kind and status (and filtered-file requests as replay-cache hits or misses), and
 * answers `/-/metrics`; everything else goes to `listener`. `replayed` says whether the cache answered a response.
 */
export function withMetrics(
  listener: RequestListener,
  metrics: ServerMetrics,
  replayed: (response: ServerResponse) => boolean,
  log: (line: string) => void,
): RequestListener {
  return (request: IncomingMessage, response: ServerResponse) => {
    const route = routeKindOf(request.url ?? "");
    response.once("close", () => {
      metrics.request(route, response.statusCode);
      if (route === "index" && (request.method === "GET" || request.method === "HEAD"))
        metrics.replayCache(replayed(response));
    });
    if (route === "metrics") return answerMetrics(request, response, metrics, log);
    listener(request, response);
  };
}

function answerMetrics(
  request: IncomingMessage,
  response: ServerResponse,
  metrics: ServerMetrics,
  log: (line: string) => void,
): void {
  if (request.method !== "GET" && request.method !== "HEAD") {
    response.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" });
    response.end(`method ${request.method} not allowed; the metrics are read-only (GET, HEAD)\n`);
    return;
  }
  metrics.exposition().then(
    ({ contentType, body }) => {
      const bytes = Buffer.from(body);
      response.writeHead(200, {
        "content-type": contentType,
        "content-length": String(bytes.byteLength),
        "cache-control": "no-store",
      });
      response.end(request.method === "HEAD" ? undefined : bytes);
    },
    (error: unknown) => {
      log(`metrics unavailable: ${error instanceof Error ? error.message : String(error)}`);
      response.writeHead(503, { "content-type": "text/plain; charset=utf-8", "retry-after": "5" });
      response.end("metrics unavailable; see the server log\n");
    },
  );
}

/** The route kind of a request target, as the core would route it (dot-segments resolved the same way). */
export function routeKindOf(target: string): RouteKind {
  const path = requestPath(target);
  if (path === METRICS_PATH) return "metrics";
  let pathname: string;
  try {
    pathname = new URL(path, "http://localhost").pathname;
  } catch {
    return "refused";
  }
  const parsed = parseRoute(pathname);
  if (!parsed.ok) return "refused";
  const route = parsed.route;
  if (route.kind !== "index") return route.kind;
  if (route.target.kind === "config") return "config";
  return isPassThrough(route.window) ? "pass-through" : "index";
}
