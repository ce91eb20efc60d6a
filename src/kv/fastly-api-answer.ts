import type { Dispatcher } from "undici";
import type { RetryDecision } from "../node/retry.ts";

// How the Fastly API's answers read, for every client of it here (KV batches, purges).

/** When a 429 says to come back: `Fastly-RateLimit-Reset` (Unix seconds), else `Retry-After`, else back-off. */
export function rateLimitRetry(headers: Dispatcher.ResponseData["headers"], now: () => number): RetryDecision {
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
export function summarize(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  if (flat === "") return "";
  return `: ${flat.length > 200 ? `${flat.slice(0, 200)}…` : flat}`;
}

/** Whatever the API echoes, the token never reaches a log line. */
export function redact(text: string, token: string): string {
  return token.length >= 4 ? text.split(token).join("[token]") : text;
}
