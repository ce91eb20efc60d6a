import { Logger } from "fastly:logger";
import { COOLDOWN_HEADER } from "../core/cooldown-header.ts";
import type { FilteredIndexFile } from "../core/index-filter.ts";
import type { HiddenReason } from "../core/policy.ts";
import type { Clock, ScanCache } from "../core/ports.ts";
import { parseRoute } from "../core/route.ts";
import { formatRfc3339 } from "../core/time.ts";
import { isPassThrough } from "../core/window.ts";

/** Hidden versions by reason, named as in the `X-Cooldown` header (cooldown-header.ts), in snake case. */
export interface HiddenCounts {
  readonly too_young: number;
  readonly yanked: number;
  readonly unknown_age: number;
  readonly unreadable: number;
  readonly trust_held: number;
  readonly trust_unknown: number;
}

/**
 * One line of the decision log: what the edge did with one request for a filtered index file. Nothing here comes from
 * the client besides the window and the crate of the path: no address, no User-Agent, no other header.
 */
export interface DecisionLine {
  /** When the request was answered (the edge's clock, whole seconds, as the core's `now`). */
  readonly time: string;
  readonly window: string;
  readonly crate: string;
  /** The status the client got (200, 304, or the error: 404, 502, 503). */
  readonly status: number;
  /** Versions shown and hidden; null when the answer filtered nothing (an error). */
  readonly kept: number | null;
  readonly hidden: HiddenCounts | null;
  /** When the next hidden version becomes visible by age alone; null when none will (or nothing was filtered). */
  readonly next_visible: string | null;
  /** What upstream answered this request's fetch; null when nothing was fetched (an answer-cache hit) or no answer came. */
  readonly upstream_status: number | null;
  /** "hit": answered from the answer cache; "miss": the cache was on, the answer was made now; "off": `answer_cache` off. */
  readonly answer_cache: "hit" | "miss" | "off";
  /**
   * How the upstream body's lines were read: "kept" from a kept scan, "stored" scanned now and kept, "scanned" scanned
   * now and not kept (a small file, no strong ETag, `scan_cache` off); null when no file was filtered in this request.
   */
  readonly scan: "kept" | "stored" | "scanned" | null;
}

/** The window and crate of a request for a filtered index file (GET/HEAD, a crate's file, not `/0d/`), or null. */
export function filteredFileOf(request: Request): { window: string; crate: string } | null {
  if (request.method !== "GET" && request.method !== "HEAD") return null;
  const parsed = parseRoute(new URL(request.url).pathname);
  if (!parsed.ok) return null;
  const route = parsed.route;
  if (route.kind !== "index" || route.target.kind !== "crate" || isPassThrough(route.window)) return null;
  return { window: route.window.label, crate: route.target.name };
}

interface Counts {
  readonly kept: number;
  readonly hidden: HiddenCounts;
  readonly next_visible: string | null;
}

const LOG_NAME_OF: Readonly<Record<HiddenReason, keyof HiddenCounts>> = {
  "too-young": "too_young",
  yanked: "yanked",
  "unknown-publish-time": "unknown_age",
  "unreadable-line": "unreadable",
  "trust-signal": "trust_held",
  "trust-data-unknown": "trust_unknown",
};

export function countsOfFiltered(filtered: FilteredIndexFile): Counts {
  const hidden = { too_young: 0, yanked: 0, unknown_age: 0, unreadable: 0, trust_held: 0, trust_unknown: 0 };
  for (const [reason, name] of Object.entries(LOG_NAME_OF) as [HiddenReason, keyof HiddenCounts][]) {
    hidden[name] = filtered.hidden[reason];
  }
  return {
    kept: filtered.kept,
    hidden,
    next_visible: filtered.nextVisibleAt === null ? null : formatRfc3339(filtered.nextVisibleAt),
  };
}

const HEADER_NAME_OF: Readonly<Record<string, keyof HiddenCounts>> = {
  "too-young": "too_young",
  yanked: "yanked",
  "unknown-age": "unknown_age",
  unreadable: "unreadable",
  "trust-held": "trust_held",
  "trust-unknown": "trust_unknown",
};

/**
 * The counts an `X-Cooldown` header states (`window=7d; kept=12; hidden=3; too-young=1; …; next-visible=…`), for an
 * answer from the answer cache, which filtered nothing in this request but carries the header of the answer it
 * replays. `trust-held`, `trust-unknown` and `next-visible` appear only when they are not zero or none; null when the
 * header is missing or says no `kept`.
 */
export function countsOfCooldownHeader(header: string | null): Counts | null {
  if (header === null) return null;
  const hidden = { too_young: 0, yanked: 0, unknown_age: 0, unreadable: 0, trust_held: 0, trust_unknown: 0 };
  let kept: number | null = null;
  let nextVisible: string | null = null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name === "next-visible") nextVisible = value;
    else if (name === "kept") kept = Number(value);
    else if (Object.hasOwn(HEADER_NAME_OF, name)) hidden[HEADER_NAME_OF[name]!] = Number(value);
  }
  return kept === null || !Number.isFinite(kept) ? null : { kept, hidden, next_visible: nextVisible };
}

/**
 * The edge decision log (Config Store `log_endpoint`): one JSON line per request for a filtered index file, written
 * through the named log endpoint when the answer is ready. The handler tells it what happens along the way: what
 * upstream answered, that the core was asked, what the core filtered, how the scan went. Off (never created) without
 * an endpoint; other requests (config.json, `/0d/`, explain, status) write nothing.
 */
export class DecisionLog {
  private upstreamStatus: number | null = null;
  private computed = false;
  private counts: Counts | null = null;
  private keptScanFound = false;
  private scanStored = false;

  private constructor(
    private readonly endpoint: string,
    private readonly file: { readonly window: string; readonly crate: string },
    private readonly answerCache: boolean,
    private readonly clock: Clock,
  ) {}

  /** The log of this request, or null when there is none (no endpoint named, or not a filtered file). */
  static start(
    request: Request,
    settings: { readonly logEndpoint: string | null; readonly answerCache: boolean },
    clock: Clock,
  ): DecisionLog | null {
    if (settings.logEndpoint === null) return null;
    const file = filteredFileOf(request);
    return file === null ? null : new DecisionLog(settings.logEndpoint, file, settings.answerCache, clock);
  }

  /** Upstream answered this request's fetch with `status`. */
  upstreamAnswered(status: number): void {
    this.upstreamStatus = status;
  }

  /** The core is asked for the answer (not the answer cache). */
  computing(): void {
    this.computed = true;
  }

  /** The core's `onFiltered`. */
  readonly filtered = (filtered: FilteredIndexFile): void => {
    this.counts = countsOfFiltered(filtered);
  };

  /** The kept scans, watched: a kept scan found, a scan kept now. */
  watchScans(cache: ScanCache): ScanCache {
    return {
      get: async (key) => {
        const value = await cache.get(key);
        if (value !== null) this.keptScanFound = true;
        return value;
      },
      put: async (key, value) => {
        await cache.put(key, value);
        this.scanStored = true;
      },
    };
  }

  /** The line for `response`, the answer the client gets. */
  line(response: Response): DecisionLine {
    const hit = this.answerCache && !this.computed && response.headers.has(COOLDOWN_HEADER);
    const counts = this.counts ?? (hit ? countsOfCooldownHeader(response.headers.get(COOLDOWN_HEADER)) : null);
    return {
      time: formatRfc3339(this.clock.now()),
      window: this.file.window,
      crate: this.file.crate,
      status: response.status,
      kept: counts?.kept ?? null,
      hidden: counts?.hidden ?? null,
      next_visible: counts?.next_visible ?? null,
      upstream_status: this.upstreamStatus,
      answer_cache: this.answerCache ? (hit ? "hit" : "miss") : "off",
      scan: this.scanStored ? "stored" : this.keptScanFound ? "kept" : this.counts !== null ? "scanned" : null,
    };
  }

  /**
   * Writes the line. A log that cannot be written (an endpoint the service does not have, a reserved name) never fails
   * the request: it says so on stderr instead.
   */
  write(response: Response): void {
    try {
      new Logger(this.endpoint).log(JSON.stringify(this.line(response)));
    } catch (error) {
      console.warn(
        `decision log: cannot write to log endpoint ${JSON.stringify(this.endpoint)}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}
