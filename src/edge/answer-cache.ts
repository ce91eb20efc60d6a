import { CoreCache, SimpleCache } from "fastly:cache";
import { maxAgeOf } from "../core/cache-control.ts";
import { ifNoneMatchHolds } from "../core/if-none-match.ts";
import { bodyBytesOf, knownBodyBytes } from "../core/known-body.ts";
import type { Clock } from "../core/ports.ts";
import type { CooldownProxy } from "../core/proxy.ts";
import { parseRoute } from "../core/route.ts";
import { ANSWERS_SURROGATE_KEY, crateSurrogateKey, POLICY_SURROGATE_KEY } from "../core/surrogate-keys.ts";
import type { UnixSeconds } from "../core/time.ts";
import { isPassThrough } from "../core/window.ts";
import type { AfterAnswer } from "./after-answer.ts";
import { POLICY_CACHE_SECONDS, type RevisedPolicy } from "./cached-policy.ts";

/**
 * Bumped whenever what an entry holds or what the core would answer for the same key changes shape, so a deploy never
 * serves entries an older build wrote in a form it no longer writes.
 */
export const ANSWER_CACHE_FORMAT = "v4";
const ANSWER_CACHE_PREFIX = "crates-cooldown/answer/";

/** Everything besides the window and the index path that the core's answer depends on and that can change. */
export interface AnswerCacheContext {
  /**
   * The policy in force (cached-policy.ts), read at most once per request, and only when no stored answer is known to
   * stand without it. Throws when it cannot be read: the answer is then the core's (a 503).
   */
  readonly policy: () => Promise<RevisedPolicy>;
  /** Settings that change the answer (the pre-pubtime inference) or its lifetime (the upstream cap). */
  readonly settingsTag: string;
  /** The longest the edge keeps an upstream copy (`upstream_max_ttl_seconds`). */
  readonly upstreamMaxTtlSeconds: UnixSeconds;
  /** The headers of the upstream copy the proxy read for this request (null when it read none). */
  readonly upstreamCopy: () => Headers | null;
  readonly clock: Clock;
  /** Where storing a new answer goes: once the answer has gone out, or `AT_ONCE`, before it. */
  readonly afterAnswer: AfterAnswer;
}

/** What an entry carries besides the body, as its user metadata. */
interface StoredHead {
  readonly status: number;
  readonly headers: [string, string][];
  /** When the core made the answer (the edge's clock, whole seconds, as the core's own `now`). */
  readonly madeAt: UnixSeconds;
  /**
   * `madeAt` + the entry's lifetime: the entry itself ends no sooner (see `store` below), so a hit read without a
   * transaction (which may find an entry past its end) is served only before this, by the edge's clock.
   */
  readonly servedUntil: UnixSeconds;
  /** The revision of the policy the answer was made under: it stands only while that is the policy in force. */
  readonly policyRevision: string;
  /**
   * When that policy's copy stops being the one this POP may use (read from KV + {@link POLICY_CACHE_SECONDS}): until
   * then the answer is served without looking the policy up; after, only once the policy in force has the same
   * revision.
   */
  readonly policyUntil: UnixSeconds;
}

/**
 * Filtered index files answered from Fastly's Core Cache: the core is asked once per key and lifetime, every other
 * request is a cache lookup and a copy. Only GET/HEAD of a filtered index file is cached; explain, status, `/0d/`,
 * config.json and every answer but a 200 go to the core every time.
 *
 * - Key: prefix, {@link ANSWER_CACHE_FORMAT}, window label, index path, settings. Publish times are not in the key: a
 *   newly pushed time applies when the entry ends, within the answer's `max-age`, or at once where
 *   `kv push --service-id` purges the crate's surrogate key (src/core/surrogate-keys.ts), which every entry carries
 *   with the key of all answers and the policy's key.
 * - Policy: not in the key either, so that a hit need not look the policy up. An entry carries the revision it was
 *   made under and until when the copy of the policy it was made with may be used (`policyUntil`, at most
 *   {@link POLICY_CACHE_SECONDS} after that copy was read from KV). Before then a hit is served as it is: exactly as
 *   fresh as an answer made now from the cached policy would be. After, a hit stands only if the policy in force has
 *   the same revision; else the answer is made again under the new policy and replaces the entry. A purge of the
 *   policy's surrogate key (`kv push --service-id` after writing a policy) drops every answer with it.
 * - Lifetime: the `max-age` the core gave the answer (≤ 60 s while some age is unknown, ≤ upstream's remaining
 *   lifetime, ≤ the next maturing or exception expiry), and never past `upstream_max_ttl_seconds` after the upstream
 *   copy was made (its age counted from its `Date` and `Age`, conservatively), so a yank upstream still reaches cargo
 *   within `upstream_max_ttl_seconds`. 0 → not stored.
 * - Concurrent misses collapse onto one computation (Core Cache transaction); the others wait for the entry.
 * - A hit answers exactly the fresh answer's status, headers and bytes, except `Cache-Control: max-age`, which says
 *   what remains of the entry (its max-age minus its age, rounded down), never more; a matching If-None-Match gets
 *   the 304 the core would send, without reading the body.
 */
export function cachedAnswers(proxy: CooldownProxy, context: AnswerCacheContext): CooldownProxy {
  return async (request) => {
    const slot = answerSlot(request, context);
    if (slot === null) return proxy(request);
    const { key, crate } = slot;
    const plainGet = request.method === "GET" && !request.headers.has("if-none-match");
    const now = context.clock.now();
    /** Whether an answer made under `head` stands now (see "Policy" above); null when the policy cannot be read. */
    const stands = async (head: StoredHead): Promise<boolean | null> => {
      if (now < head.policyUntil) return true;
      const revised = await policyOrNull(context);
      return revised === null ? null : revised.revision === head.policyRevision;
    };
    if (plainGet) {
      const fresh = await freshStoredAnswer(key, now);
      if (fresh !== null) {
        const verdict = await stands(fresh.head);
        // Without the policy, the core answers what such a request gets (it reads the policy first).
        if (verdict === null) return proxy(request);
        if (verdict) return responseOf(fresh, context.clock);
      }
    }
    const entry = CoreCache.transactionLookup(key);
    const state = entry.state();
    const found = state.found() && state.usable() && !state.mustInsertOrUpdate();
    if (found) {
      // A GET without If-None-Match needs only the entry's body, which carries its head; a 304 or a HEAD needs only
      // the head, kept as the entry's metadata.
      const stored = plainGet ? storedAnswerOf(await readStoredBytes(key, entry)) : null;
      const head = stored?.head ?? (JSON.parse(new TextDecoder().decode(entry.userMetadata())) as StoredHead);
      const verdict = await stands(head);
      if (verdict === true) {
        return stored !== null
          ? responseOf(stored, context.clock)
          : answerFrom(request, head, context.clock, async () => storedAnswerOf(await readStoredBytes(key, entry)));
      }
      // Made under another policy (or none can be read now): made again, and stored in the entry's place (this
      // transaction cannot insert, as the entry it found is usable; requests that find the old entry meanwhile make
      // the answer themselves too).
      entry.close();
      if (verdict === null) return proxy(request);
    }
    const replace = found;
    const endTransaction = () => {
      if (replace) return;
      entry.cancel();
      entry.close();
    };
    const revised = await policyOrNull(context);
    if (revised === null) {
      endTransaction();
      return proxy(request);
    }
    let computed: Computed;
    try {
      computed = await compute(proxy, request, plainGet, revised, context);
    } catch (error) {
      endTransaction();
      throw error;
    }
    if ("uncacheable" in computed) {
      // Not a 200: nothing stored. The core answers a filtered file's errors alike for GET and HEAD, with or without
      // If-None-Match, so its answer to the GET is the client's answer (asking again would reach upstream twice).
      endTransaction();
      return computed.uncacheable;
    }
    const { head, body, maxAge, response } = computed;
    const made = performance.now();
    const store = () => {
      // Stored after the answer went out, the entry still lives no longer than `maxAge` from when the answer was made,
      // by the edge's clock (which tests move) and by the time this request has run.
      const elapsedMs = Math.max(performance.now() - made, (context.clock.now() - head.madeAt) * 1000);
      const lifetimeMs = Math.floor(maxAge * 1000 - elapsedMs);
      if (lifetimeMs <= 0) {
        endTransaction();
        return;
      }
      const headJson = JSON.stringify(head);
      const prefix = storedPrefixOf(headJson);
      const options = {
        maxAge: lifetimeMs,
        userMetadata: headJson,
        length: prefix.byteLength + body.byteLength,
        surrogateKeys: [crateSurrogateKey(crate), ANSWERS_SURROGATE_KEY, POLICY_SURROGATE_KEY],
      };
      const writer = replace ? CoreCache.insert(key, options) : entry.insert(options);
      writer.append(prefix);
      writer.append(body);
      writer.close();
      if (!replace) entry.close();
    };
    // Requests for the same key that arrived meanwhile wait on this transaction until `store` has run.
    context.afterAnswer(store);
    return response ?? answerFrom(request, head, context.clock, async () => ({ head, body }));
  };
}

/** The policy in force, or null when it cannot be read (the core then answers the request as it would without it). */
async function policyOrNull(context: AnswerCacheContext): Promise<RevisedPolicy | null> {
  try {
    return await context.policy();
  } catch {
    return null;
  }
}

/** The cache key and the crate whose answer it holds, or null when this request's answer is never cached. */
export function answerSlot(
  request: Request,
  context: Pick<AnswerCacheContext, "settingsTag">,
): { key: string; crate: string } | null {
  if (request.method !== "GET" && request.method !== "HEAD") return null;
  const parsed = parseRoute(new URL(request.url).pathname);
  if (!parsed.ok) return null;
  const route = parsed.route;
  if (route.kind !== "index" || route.target.kind !== "crate" || isPassThrough(route.window)) return null;
  return {
    key: `${ANSWER_CACHE_PREFIX}${ANSWER_CACHE_FORMAT}/${route.window.label}/${route.target.path}/${context.settingsTag}`,
    crate: route.target.name,
  };
}

/**
 * The core's answer to this request as a GET without If-None-Match (so the 200's body exists): for a 200, its head, its
 * bytes, how long to keep it, and the core's response itself when it is the client's answer as well (the request was
 * such a GET, and the response's body is unread); any other answer as it is.
 */
type Computed =
  | { head: StoredHead; body: Uint8Array<ArrayBuffer>; maxAge: UnixSeconds; response: Response | null }
  | { uncacheable: Response };

/** `plainGet`: the request is such a GET already (the usual miss). `revised`: the policy the proxy decides under. */
async function compute(
  proxy: CooldownProxy,
  request: Request,
  plainGet: boolean,
  revised: RevisedPolicy,
  context: AnswerCacheContext,
): Promise<Computed> {
  // Asked as it is, the usual miss gets the core's answer as it is (no second request or response to build).
  const response = await proxy(plainGet ? request : plainGetOf(request));
  if (response.status !== 200) return { uncacheable: response };
  const known = plainGet ? knownBodyBytes(response) : null;
  const body = known ?? (await bodyBytesOf(response));
  const now = context.clock.now();
  const maxAge = answerLifetime(
    maxAgeOf(response.headers.get("cache-control")),
    context.upstreamCopy(),
    context.upstreamMaxTtlSeconds,
    now,
  );
  return {
    head: {
      status: 200,
      headers: [...response.headers],
      madeAt: now,
      servedUntil: now + maxAge,
      policyRevision: revised.revision,
      policyUntil: revised.readAt + POLICY_CACHE_SECONDS,
    },
    body,
    maxAge,
    response: known === null ? null : response,
  };
}

function plainGetOf(request: Request): Request {
  const headers = new Headers(request.headers);
  headers.delete("if-none-match");
  return new Request(request.url, { method: "GET", headers });
}

/**
 * How long an answer may be kept: the core's max-age, and no longer than the upstream copy it was made from may still
 * be used (`upstream_max_ttl_seconds` after that copy left upstream). The copy's age is at least `now - Date` (the
 * origin wrote `Date` before any cache held the copy; +1 s for `Date`'s whole seconds) and at least its `Age`;
 * without a `Date` it is unknown and nothing is kept.
 */
export function answerLifetime(
  coreMaxAge: UnixSeconds | null,
  upstreamCopy: Headers | null,
  upstreamMaxTtlSeconds: UnixSeconds,
  now: UnixSeconds,
): UnixSeconds {
  if (coreMaxAge === null || upstreamCopy === null) return 0;
  const date = Date.parse(upstreamCopy.get("date") ?? "");
  if (!Number.isFinite(date)) return 0;
  const ageHeader = Number(upstreamCopy.get("age") ?? "0");
  const copyAge = Math.max(now - Math.floor(date / 1000) + 1, Number.isFinite(ageHeader) ? ageHeader : 0, 0);
  return Math.max(0, Math.min(coreMaxAge, upstreamMaxTtlSeconds - copyAge));
}

/**
 * What an entry's body starts with: the head's length (4 bytes, big-endian) and the head as JSON; the answer's bytes
 * follow, appended as they are (no copy of the body to make one buffer). The head travels with the bytes so that a 200
 * is always made from one entry's head and bytes together, even when the body is read through a second lookup (see
 * {@link readStoredBytes}) that another request's insert may have answered.
 */
function storedPrefixOf(headJson: string): Uint8Array<ArrayBuffer> {
  const headBytes = new TextEncoder().encode(headJson);
  const prefix = new Uint8Array(4 + headBytes.byteLength);
  new DataView(prefix.buffer).setUint32(0, headBytes.byteLength);
  prefix.set(headBytes, 4);
  return prefix;
}

/** An entry's body read back: its head and the answer's bytes (a view, not a copy). */
interface StoredAnswer {
  readonly head: StoredHead;
  readonly body: Uint8Array<ArrayBuffer>;
}

function storedAnswerOf(stored: Uint8Array<ArrayBuffer>): StoredAnswer {
  const headLength = new DataView(stored.buffer, stored.byteOffset).getUint32(0);
  const head = JSON.parse(new TextDecoder().decode(stored.subarray(4, 4 + headLength))) as StoredHead;
  return { head, body: stored.subarray(4 + headLength) };
}

/**
 * The hit most requests are, a GET without If-None-Match, in one lookup: the entry's body read whole through
 * `SimpleCache.get` (see {@link readStoredBytes}), its head taken from the body. That lookup is not a transaction and
 * may find an entry past its end (Viceroy answers every present entry, fresh or not), so the answer is returned only
 * while the head's `servedUntil` says so; else null, and the transaction decides. Saves the transaction's lookup on
 * every such hit (web-sys: 3.90 → 3.41 ms of `_start` under the local host, side by side).
 */
async function freshStoredAnswer(key: string, now: UnixSeconds): Promise<StoredAnswer | null> {
  const bytes = await simpleCacheBytes(key);
  if (bytes === null) return null;
  const stored = storedAnswerOf(bytes);
  return now < stored.head.servedUntil ? stored : null;
}

/**
 * The entry's body, whole. A Core Cache entry gives its body only as a stream the SDK feeds to JavaScript 8 KB at a
 * time, while the SDK reads a SimpleCache entry's body whole in native code: three times cheaper for a 1 MB answer in
 * the engine (measured). `SimpleCache.get` looks a key up with the very hostcall `CoreCache` uses (js-compute-runtime,
 * `cache-simple.cpp`), so it finds this entry; should it not (evicted since, or an SDK that keys SimpleCache apart),
 * the stream is read instead.
 */
async function readStoredBytes(key: string, entry: { body(): ReadableStream }): Promise<Uint8Array<ArrayBuffer>> {
  return (await simpleCacheBytes(key)) ?? new Uint8Array(await new Response(entry.body()).arrayBuffer());
}

/** The body of what a lookup without a transaction finds under `key`, read whole natively; null when nothing. */
async function simpleCacheBytes(key: string): Promise<Uint8Array<ArrayBuffer> | null> {
  const simple = SimpleCache.get(key);
  return simple === null ? null : new Uint8Array(await simple.arrayBuffer());
}

/**
 * The answer the core would give this request, from a stored 200: its `max-age` is the core's minus the time since it
 * was made, what a fresh answer made then would still allow (as the Node home's replay cache says it); the entry
 * itself may end sooner (see {@link answerLifetime}), never later. A 304 or a HEAD is answered from the entry's head
 * alone, without reading the body.
 */
async function answerFrom(
  request: Request,
  head: StoredHead,
  clock: Clock,
  stored: () => Promise<StoredAnswer>,
): Promise<Response> {
  const etag = head.headers.find(([name]) => name === "etag")?.[1] ?? null;
  if (etag !== null && !ifNoneMatchHolds(request.headers.get("if-none-match"), etag)) {
    // The core's 304 carries the 200's headers but its length.
    const headers = headersAged(head, clock).filter(([name]) => name !== "content-length");
    return new Response(null, { status: 304, headers });
  }
  if (request.method === "HEAD") return new Response(null, { status: head.status, headers: headersAged(head, clock) });
  return responseOf(await stored(), clock);
}

function responseOf(answer: StoredAnswer, clock: Clock): Response {
  return new Response(answer.body, { status: answer.head.status, headers: headersAged(answer.head, clock) });
}

/**
 * The head's headers (as stored: lowercase names, in order), with `max-age` less the whole seconds since the answer
 * was made. A list, not a `Headers`: the response copies its init either way, and a hit should build nothing twice.
 */
function headersAged(head: StoredHead, clock: Clock): [string, string][] {
  const age = Math.max(0, clock.now() - head.madeAt);
  if (age === 0) return head.headers;
  return head.headers.map(([name, value]): [string, string] => {
    const maxAge = name === "cache-control" ? maxAgeOf(value) : null;
    return maxAge === null
      ? [name, value]
      : [name, value.replace(/max-age=\d+/, `max-age=${Math.max(0, maxAge - age)}`)];
  });
}
