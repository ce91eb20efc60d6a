import { type Dispatcher, request, errors as undiciErrors } from "undici";
import type { RetryDecision } from "../node/retry.ts";
import { rateLimitRetry, redact, summarize } from "./fastly-api-answer.ts";

/** Where `kv push` writes: the Fastly API (or a stand-in), one KV store, one token. */
export interface KvBatchTarget {
  /** e.g. `https://api.fastly.com`, without a trailing path. */
  readonly apiUrl: string;
  readonly storeId: string;
  /** Sent as `Fastly-Key`; never printed (messages built here pass through `redact`). */
  readonly token: string;
  readonly dispatcher?: Dispatcher;
  readonly signal?: AbortSignal;
}

/** One line of a batch the API did not apply: `{key, index, code, reason}` as the API reports it. */
export interface KvLineError {
  /** Empty in the API's answer when the line could not be parsed. */
  readonly key: string | null;
  /** Line number in the request body, from 0. */
  readonly index: number | null;
  /** The line's HTTP-like status, as a string ("400", "429", "503" …). */
  readonly code: string;
  readonly reason: string;
}

/** The API answered the batch as a whole; lines listed here were not applied, every other line was. */
export interface KvBatchAnswer {
  readonly lineErrors: readonly KvLineError[];
}

/** Why a batch request failed as a whole. `retry` says whether and when trying again may help. */
export class KvApiError extends Error {
  override readonly name = "KvApiError";
  constructor(
    message: string,
    /** HTTP status, or null when no answer came (connection refused, dropped …). */
    readonly status: number | null,
    readonly retry: RetryDecision,
  ) {
    super(message);
  }
}

/** The batch endpoint's URL for a store; `apiUrl` must be http(s). */
export function kvBatchUrl(apiUrl: string, storeId: string): string {
  return `${apiUrl.replace(/\/+$/, "")}/resources/stores/kv/${encodeURIComponent(storeId)}/batch`;
}

/**
 * Sends one NDJSON batch (`PUT …/resources/stores/kv/{store_id}/batch`) and reads the answer. Per-line failures come
 * back as `lineErrors` (on a 200 or on a 400 that lists lines); anything else that is not a success throws
 * `KvApiError` whose `retry` tells the retry module what to do.
 */
export async function putKvBatch(
  target: KvBatchTarget,
  body: string,
  now: () => number = Date.now,
): Promise<KvBatchAnswer> {
  let answer: Dispatcher.ResponseData;
  try {
    answer = await request(kvBatchUrl(target.apiUrl, target.storeId), {
      method: "PUT",
      headers: { "fastly-key": target.token, "content-type": "application/x-ndjson", accept: "application/json" },
      body,
      ...(target.dispatcher ? { dispatcher: target.dispatcher } : {}),
      ...(target.signal ? { signal: target.signal } : {}),
    });
  } catch (error) {
    if (target.signal?.aborted || error instanceof undiciErrors.RequestAbortedError) throw error;
    const detail =
      error instanceof Error ? `${(error as { code?: string }).code ?? error.name}: ${error.message}` : String(error);
    throw new KvApiError(redact(`no answer from ${target.apiUrl} (${detail})`, target.token), null, {
      kind: "back-off",
    });
  }
  const text = await answer.body.text().catch(() => "");
  const status = answer.statusCode;
  const lineErrors = lineErrorsIn(text);
  if (status === 200) return { lineErrors: lineErrors ?? [] };
  if (status === 400 && lineErrors !== null && lineErrors.length > 0) return { lineErrors };

  const said = redact(summarize(text), target.token);
  const where = `KV store ${target.storeId}`;
  if (status === 401 || status === 403) {
    throw new KvApiError(
      `the Fastly API refused the token (${status}): check that FASTLY_API_TOKEN is valid and may write to ${where}${said}`,
      status,
      { kind: "give-up" },
    );
  }
  if (status === 404)
    throw new KvApiError(`the Fastly API knows no ${where} (404): check --store-id${said}`, status, {
      kind: "give-up",
    });
  if (status === 429) {
    throw new KvApiError(`rate limited by the Fastly API (429)${said}`, status, rateLimitRetry(answer.headers, now));
  }
  const retryable = status >= 500 || status === 408;
  throw new KvApiError(
    `the Fastly API answered ${status} to a batch for ${where}${said}`,
    status,
    retryable ? { kind: "back-off" } : { kind: "give-up" },
  );
}

/** The `errors` list of a batch answer (`{title, errors:[{key,index,code,reason}]}`), or null when there is none. */
function lineErrorsIn(text: string): KvLineError[] | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  const list = (parsed as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(list)) return null;
  return list.map((item: Record<string, unknown> | null) => ({
    key: typeof item?.key === "string" && item.key !== "" ? item.key : null,
    index: typeof item?.index === "number" && Number.isInteger(item.index) ? item.index : null,
    code: item?.code === undefined || item.code === null ? "400" : String(item.code),
    reason: typeof item?.reason === "string" ? item.reason : "no reason given",
  }));
}
