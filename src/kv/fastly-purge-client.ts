import { type Dispatcher, request, errors as undiciErrors } from "undici";
import type { RetryDecision } from "../node/retry.ts";
import { rateLimitRetry, redact, summarize } from "./fastly-api-answer.ts";

/** The most surrogate keys Fastly's batch purge takes in one request. */
export const MAX_KEYS_PER_PURGE = 256;

/** Whose cache `kv push` purges: one Fastly service, through the API (or a stand-in), with one token. */
export interface PurgeTarget {
  /** e.g. `https://api.fastly.com`, without a trailing path. */
  readonly apiUrl: string;
  readonly serviceId: string;
  /** Sent as `Fastly-Key`; it needs the `purge_select` scope. Never printed. */
  readonly token: string;
  readonly dispatcher?: Dispatcher;
  readonly signal?: AbortSignal;
}

/** Why a purge request failed. `retry` says whether and when trying again may help. */
export class PurgeApiError extends Error {
  override readonly name = "PurgeApiError";
  constructor(
    message: string,
    /** HTTP status, or null when no answer came. */
    readonly status: number | null,
    readonly retry: RetryDecision,
  ) {
    super(message);
  }
}

/** The batch purge endpoint of a service. */
export function purgeUrl(apiUrl: string, serviceId: string): string {
  return `${apiUrl.replace(/\/+$/, "")}/service/${encodeURIComponent(serviceId)}/purge`;
}

/**
 * Purges up to {@link MAX_KEYS_PER_PURGE} surrogate keys at once (`POST /service/{service_id}/purge` with the keys in
 * a `Surrogate-Key` header, space-separated): a hard purge, so the next request for anything tagged with one of them
 * is computed anew. Throws `PurgeApiError` unless the API answered 200.
 */
export async function purgeSurrogateKeys(
  target: PurgeTarget,
  keys: readonly string[],
  now: () => number = Date.now,
): Promise<void> {
  if (keys.length === 0) return;
  if (keys.length > MAX_KEYS_PER_PURGE)
    throw new RangeError(`${keys.length} surrogate keys in one purge; the API takes at most ${MAX_KEYS_PER_PURGE}`);
  let answer: Dispatcher.ResponseData;
  try {
    answer = await request(purgeUrl(target.apiUrl, target.serviceId), {
      method: "POST",
      headers: { "fastly-key": target.token, "surrogate-key": keys.join(" "), accept: "application/json" },
      ...(target.dispatcher ? { dispatcher: target.dispatcher } : {}),
      ...(target.signal ? { signal: target.signal } : {}),
    });
  } catch (error) {
    if (target.signal?.aborted || error instanceof undiciErrors.RequestAbortedError) throw error;
    const detail =
      error instanceof Error ? `${(error as { code?: string }).code ?? error.name}: ${error.message}` : String(error);
    throw new PurgeApiError(redact(`no answer from ${target.apiUrl} (${detail})`, target.token), null, {
      kind: "back-off",
    });
  }
  const text = await answer.body.text().catch(() => "");
  const status = answer.statusCode;
  if (status === 200) return;
  const said = redact(summarize(text), target.token);
  const where = `service ${target.serviceId}`;
  if (status === 401 || status === 403) {
    throw new PurgeApiError(
      `the Fastly API refused to purge ${where} (${status}): the token needs the purge_select scope on it${said}`,
      status,
      { kind: "give-up" },
    );
  }
  if (status === 404)
    throw new PurgeApiError(`the Fastly API knows no ${where} (404): check --service-id${said}`, status, {
      kind: "give-up",
    });
  if (status === 429)
    throw new PurgeApiError(`rate limited by the Fastly API (429)${said}`, status, rateLimitRetry(answer.headers, now));
  const retryable = status >= 500 || status === 408;
  throw new PurgeApiError(
    `the Fastly API answered ${status} to a purge of ${where}${said}`,
    status,
    retryable ? { kind: "back-off" } : { kind: "give-up" },
  );
}
