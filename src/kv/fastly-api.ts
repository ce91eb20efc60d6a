import { type Dispatcher, request, errors as undiciErrors } from "undici";
import type { RetryDecision } from "../node/retry.ts";

/** Who is asking the Fastly API (or a stand-in), and how. */
export interface FastlyApiCaller {
  /** e.g. `https://api.fastly.com`, without a trailing path. */
  readonly apiUrl: string;
  /** Sent as `Fastly-Key`; never printed (messages built here pass through `redact`). */
  readonly token: string;
  readonly dispatcher?: Dispatcher;
  readonly signal?: AbortSignal;
}

/** Why a request to the Fastly API failed as a whole. `retry` says whether and when trying again may help. */
export class FastlyApiError extends Error {
  override readonly name = "FastlyApiError";
  constructor(
    message: string,
    /** HTTP status, or null when no answer came (connection refused, dropped …). */
    readonly status: number | null,
    readonly retry: RetryDecision,
  ) {
    super(message);
  }
}

/** What the API answered: status, headers and the body as text. */
export interface FastlyApiAnswer {
  readonly status: number;
  readonly headers: Dispatcher.ResponseData["headers"];
  readonly text: string;
}

/**
 * One request to the API, `Fastly-Key` and `Accept: application/json` added. No answer at all (refused, dropped …)
 * throws a `FastlyApiError` worth retrying after a back-off; an abort goes on up as it is.
 */
export async function requestFastlyApi(
  caller: FastlyApiCaller,
  url: string,
  init: { method: Dispatcher.HttpMethod; headers?: Record<string, string>; body?: string },
): Promise<FastlyApiAnswer> {
  let answer: Dispatcher.ResponseData;
  try {
    answer = await request(url, {
      method: init.method,
      headers: { "fastly-key": caller.token, accept: "application/json", ...init.headers },
      ...(init.body === undefined ? {} : { body: init.body }),
      ...(caller.dispatcher ? { dispatcher: caller.dispatcher } : {}),
      ...(caller.signal ? { signal: caller.signal } : {}),
    });
  } catch (error) {
    if (caller.signal?.aborted || error instanceof undiciErrors.RequestAbortedError) throw error;
    const detail =
      error instanceof Error ? `${(error as { code?: string }).code ?? error.name}: ${error.message}` : String(error);
    throw new FastlyApiError(redact(`no answer from ${caller.apiUrl} (${detail})`, caller.token), null, {
      kind: "back-off",
    });
  }
  const text = await answer.body.text().catch(() => "");
  return { status: answer.statusCode, headers: answer.headers, text };
}

/** How a client names what it asked for, in the messages of {@link failureOf}. */
export interface FastlyApiRequestWords {
  /** The message for a 401 or 403 (without what the API said), given the status. */
  readonly refused: (status: number) => string;
  /** What the request was about, e.g. `KV store s1`, named when the API knows no such thing (404). */
  readonly where: string;
  /** The flag that names it, e.g. `--store-id`. */
  readonly flag: string;
  /** The request, e.g. `a batch for KV store s1`, in the message for any other status. */
  readonly request: string;
}

/**
 * The error an answer that is not a success stands for: a refused token or an unknown resource is given up on, a 429
 * is waited out (until `Fastly-RateLimit-Reset`), a 5xx or 408 retried after a back-off, anything else given up on.
 * The message ends with what the API said, the token redacted.
 */
export function failureOf(
  answer: FastlyApiAnswer,
  caller: FastlyApiCaller,
  words: FastlyApiRequestWords,
  now: () => number,
): FastlyApiError {
  const { status } = answer;
  const said = redact(summarize(answer.text), caller.token);
  if (status === 401 || status === 403) return new FastlyApiError(`${words.refused(status)}${said}`, status, GIVE_UP);
  if (status === 404)
    return new FastlyApiError(
      `the Fastly API knows no ${words.where} (404): check ${words.flag}${said}`,
      status,
      GIVE_UP,
    );
  if (status === 429)
    return new FastlyApiError(
      `rate limited by the Fastly API (429)${said}`,
      status,
      rateLimitRetry(answer.headers, now),
    );
  const retryable = status >= 500 || status === 408;
  return new FastlyApiError(
    `the Fastly API answered ${status} to ${words.request}${said}`,
    status,
    retryable ? { kind: "back-off" } : GIVE_UP,
  );
}

const GIVE_UP: RetryDecision = { kind: "give-up" };

/** When a 429 says to come back: `Fastly-RateLimit-Reset` (Unix seconds), else `Retry-After`, else back-off. */
function rateLimitRetry(headers: Dispatcher.ResponseData["headers"], now: () => number): RetryDecision {
  const reset = Number(single(headers["fastly-ratelimit-reset"]));
  // One extra second: the reset is whole seconds, and arriving early earns another 429.
  if (Number.isFinite(reset) && reset > 0) return { kind: "wait-until", at: reset * 1000 + 1000 };
  const after = Number(single(headers["retry-after"]));
  if (Number.isFinite(after) && after >= 0) return { kind: "wait-until", at: now() + after * 1000 };
  return { kind: "back-off" };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** What the API said, on one line and at most 200 characters, as `: …` to append to a message (empty: nothing). */
function summarize(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  if (flat === "") return "";
  return `: ${flat.length > 200 ? `${flat.slice(0, 200)}…` : flat}`;
}

/** Whatever the API echoes, the token never reaches a log line. */
export function redact(text: string, token: string): string {
  return token.length >= 4 ? text.split(token).join("[token]") : text;
}
