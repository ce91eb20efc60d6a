import { setTimeout as abortableSleep } from "node:timers/promises";
import { UserError } from "../node/user-error.ts";
import { recordProvenance } from "../store/provenance-reports.ts";
import type { TimestampDatabase } from "../store/timestamp-database.ts";
import { API_MIN_INTERVAL_MS, ApiFormatError, type ApiVersion, parseVersionsPage } from "./crates-io-api.ts";

export interface ApiLookupOptions {
  readonly database: TimestampDatabase;
  /** Lowercased crate name. */
  readonly crate: string;
  /** e.g. `https://crates.io` (no trailing slash needed). */
  readonly apiBase: string;
  /** Must name the tool and a contact (crates.io's crawler policy). */
  readonly userAgent: string;
  /** Tries per request on 429 and 5xx before giving up (default 4). */
  readonly maxAttempts?: number;
  readonly minIntervalMs?: number;
  /** Waits; tests pass one that records the waits instead. The default ends at once when `signal` aborts. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly signal?: AbortSignal;
  /** Shared by the lookups of one run (of a whole process, in `ingest watch`), so requests stay paced across crates. */
  readonly pacer?: ApiPacer;
}

/** When the last request went out and when the next may, on `performance.now()`'s clock. */
export interface ApiPacer {
  lastRequestAt: number;
  /**
   * No request before this: set when crates.io kept refusing (the last `Retry-After`, or the back-off), so the lookups
   * that come after the failed one — in this run or, with a shared pacer, in the next — honour it too.
   */
  notBefore?: number;
}

/** Why a lookup recorded nothing: the queue drops `not-found`, waits and tries the others again. */
export class ApiLookupFailure extends UserError {
  constructor(
    message: string,
    readonly kind: "not-found" | "refused" | "malformed" | "unreachable" | "interrupted",
  ) {
    super(message);
  }
}

export interface ApiLookupSummary {
  readonly crate: string;
  readonly requests: number;
  readonly versions: number;
  /** Versions whose publisher the database learned or corrected. */
  readonly publishersLearned: number;
}

/** Waits `ms`, or rejects at once when `signal` aborts. */
const sleepFor = (signal: AbortSignal | undefined) => (ms: number) =>
  abortableSleep(ms, undefined, signal === undefined ? {} : { signal });

/**
 * Looks up a crate's whole history on crates.io's web API (`/api/v1/crates/{name}/versions`, every page) and records
 * each version's publish time and publisher in one transaction, so its trust signals can be computed between dumps.
 * Requests are at least a second apart; 429 and 5xx are retried after `Retry-After` or a doubling back-off. Any
 * failure — an unknown crate, a malformed body, a server that keeps refusing, an abort (`interrupted`, at once, even
 * in the middle of a wait) — records nothing and throws a `UserError` of one line.
 */
export async function lookUpCrateHistory(options: ApiLookupOptions): Promise<ApiLookupSummary> {
  const interrupted = () =>
    new ApiLookupFailure(`crates.io API lookup of ${options.crate}: interrupted`, "interrupted");
  const rawSleep = options.sleep ?? sleepFor(options.signal);
  const sleep = async (ms: number) => {
    try {
      await rawSleep(ms);
    } catch (error) {
      if (options.signal?.aborted) throw interrupted();
      throw error;
    }
    if (options.signal?.aborted) throw interrupted();
  };
  const interval = options.minIntervalMs ?? API_MIN_INTERVAL_MS;
  const maxAttempts = options.maxAttempts ?? 4;
  const base = options.apiBase.replace(/\/+$/, "");
  const path = `/api/v1/crates/${encodeURIComponent(options.crate)}/versions`;
  const found: ApiVersion[] = [];
  let requests = 0;
  const pacer: ApiPacer = options.pacer ?? { lastRequestAt: Number.NEGATIVE_INFINITY };
  /** A refusal that ends the lookup leaves its wait to whatever request comes next. */
  const holdOff = (ms: number) => {
    pacer.notBefore = Math.max(pacer.notBefore ?? Number.NEGATIVE_INFINITY, performance.now() + ms);
  };
  let page: string | null = "";
  while (page !== null) {
    const url = `${base}${path}${page}`;
    let text: string | null = null;
    for (let attempt = 1; text === null; attempt++) {
      if (options.signal?.aborted) throw interrupted();
      const wait =
        Math.max(pacer.lastRequestAt + interval, pacer.notBefore ?? Number.NEGATIVE_INFINITY) - performance.now();
      if (wait > 0) await sleep(wait);
      pacer.lastRequestAt = performance.now();
      requests++;
      let response: Response;
      try {
        response = await fetch(url, {
          headers: { "user-agent": options.userAgent, accept: "application/json" },
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        });
      } catch (error) {
        pacer.lastRequestAt = performance.now();
        if (options.signal?.aborted) throw interrupted();
        if (attempt >= maxAttempts) {
          holdOff(backoffMs(attempt, null));
          throw new ApiLookupFailure(
            `crates.io API unreachable for ${options.crate}: ${(error as Error).message}`,
            "unreachable",
          );
        }
        await sleep(backoffMs(attempt, null));
        continue;
      }
      // Paced from the answer too: however long a request took to go out, the next reaches crates.io a second later.
      pacer.lastRequestAt = performance.now();
      if (response.status === 200) {
        try {
          text = await response.text();
        } catch (error) {
          if (options.signal?.aborted) throw interrupted();
          throw error;
        }
        break;
      }
      await response.body?.cancel();
      if (response.status === 404)
        throw new ApiLookupFailure(`crates.io has no crate "${options.crate}" (API answered 404)`, "not-found");
      if (response.status !== 429 && response.status < 500)
        throw new ApiLookupFailure(`crates.io API answered ${response.status} for ${options.crate}`, "refused");
      if (attempt >= maxAttempts) {
        holdOff(backoffMs(attempt, response.headers.get("retry-after")));
        throw new ApiLookupFailure(
          `crates.io API answered ${response.status} for ${options.crate} ${attempt} times; nothing recorded, try later`,
          "refused",
        );
      }
      await sleep(backoffMs(attempt, response.headers.get("retry-after")));
    }
    let parsed: ReturnType<typeof parseVersionsPage>;
    try {
      parsed = parseVersionsPage(text);
    } catch (error) {
      if (error instanceof ApiFormatError) {
        throw new ApiLookupFailure(
          `crates.io API answered a malformed body for ${options.crate}: ${error.message}`,
          "malformed",
        );
      }
      throw error;
    }
    found.push(...parsed.versions);
    page = parsed.nextPage;
  }
  const crate = options.crate;
  const outcome = options.database.transaction(() => {
    options.database.record(found.map((v) => ({ crate, version: v.num, publishedAt: v.createdAt })));
    return recordProvenance(
      options.database,
      found.map((v) => ({
        crate,
        version: v.num,
        via: v.via,
        publisherId: v.publisherId,
        publisher: v.publisher,
        trustedSource: v.trustedSource,
      })),
    );
  });
  return { crate, requests, versions: found.length, publishersLearned: outcome.updated };
}

/** `Retry-After` in seconds when given (at most an hour), else 2, 4, 8 … seconds. */
function backoffMs(attempt: number, retryAfter: string | null): number {
  const seconds = retryAfter !== null && /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter) : 2 ** attempt;
  return Math.min(seconds, 3_600) * 1_000;
}
