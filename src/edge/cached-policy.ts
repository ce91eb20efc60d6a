import { CoreCache } from "fastly:cache";
import { DEFAULT_POLICY, decodePolicy, type Policy } from "../core/policy-document.ts";
import type { Clock } from "../core/ports.ts";
import { POLICY_SURROGATE_KEY } from "../core/surrogate-keys.ts";
import type { UnixSeconds } from "../core/time.ts";
import { readKvPolicyRecord } from "./kv-policy.ts";
import { PUBLISH_TIMES_STORE } from "./kv-publish-times.ts";

/**
 * How long the edge keeps the policy record in the Core Cache: a policy `kv push` writes applies at the edge within
 * this many seconds (per POP; each POP reads `_policy` again at most this often), or at once where the push purges
 * the copy's surrogate key (`kv push --service-id`).
 */
export const POLICY_CACHE_SECONDS = 30;

/**
 * The policy in force, its revision and when it was read from KV: what an answer made under it depends on, and until
 * when that answer may stand without asking for the policy again (answer-cache.ts).
 */
export interface RevisedPolicy {
  /** Decoded on demand: a request answered from the answer cache needs only the revision. */
  readonly policy: () => Promise<Policy>;
  /** `default` when no policy was pushed; else the record's text when short, or its SHA-256. */
  readonly revision: string;
  /**
   * When this copy was read from KV (the edge's clock). Until `readAt` + {@link POLICY_CACHE_SECONDS} it is the policy
   * this POP uses; an answer made under it may be served that long without looking the policy up again.
   */
  readonly readAt: UnixSeconds;
}

/** v2: the entry's metadata is `<readAt> <revision>`. */
const POLICY_CACHE_PREFIX = "crates-cooldown/policy/v2/";
/** Records up to this long are their own revision (no digest to compute); every cached answer carries it. */
const INLINE_REVISION_CHARS = 64;

/**
 * The operator's policy (`_policy` in the KV store), read from KV at most once per {@link POLICY_CACHE_SECONDS} per
 * cache: a hot request does no KV lookup for it. A record that cannot be read (KV fault, a format this build does
 * not know) throws and is never cached, so the next request tries again. Concurrent misses collapse onto one read
 * (Core Cache transaction).
 */
export async function readCachedPolicy(clock: Clock, storeName: string = PUBLISH_TIMES_STORE): Promise<RevisedPolicy> {
  const entry = CoreCache.transactionLookup(`${POLICY_CACHE_PREFIX}${storeName}`);
  const state = entry.state();
  if (state.found() && state.usable() && !state.mustInsertOrUpdate()) {
    const metadata = new TextDecoder().decode(entry.userMetadata());
    const space = metadata.indexOf(" ");
    const readAt = Number(metadata.slice(0, space));
    const revision = metadata.slice(space + 1);
    if (revision === "default") {
      entry.close();
      return { policy: async () => DEFAULT_POLICY, revision, readAt };
    }
    // The entry stays open until its body is read (or the request ends): a hit needs no body.
    return {
      policy: async () => {
        try {
          return decodePolicy(await new Response(entry.body()).text());
        } finally {
          entry.close();
        }
      },
      revision,
      readAt,
    };
  }
  try {
    let read: { policy: Policy; revision: string; text: string };
    try {
      read = await readFromKv(storeName);
    } catch (error) {
      // Never cache a failure: hand the obligation on and let the caller answer 503.
      entry.cancel();
      throw error;
    }
    const readAt = clock.now();
    const bytes = new TextEncoder().encode(read.text);
    const body = entry.insert({
      maxAge: POLICY_CACHE_SECONDS * 1000,
      userMetadata: `${readAt} ${read.revision}`,
      length: bytes.byteLength,
      surrogateKeys: [POLICY_SURROGATE_KEY],
    });
    body.append(bytes);
    body.close();
    const policy = read.policy;
    return { policy: async () => policy, revision: read.revision, readAt };
  } finally {
    entry.close();
  }
}

async function readFromKv(storeName: string): Promise<{ policy: Policy; revision: string; text: string }> {
  const { policy, text } = await readKvPolicyRecord(storeName);
  if (text === null) return { policy, revision: "default", text: "" };
  return { policy, revision: await policyRevision(text), text };
}

/** Short records stand for themselves (prefixed so no record can spell `default`); longer ones by their SHA-256. */
export async function policyRevision(text: string): Promise<string> {
  if (text.length <= INLINE_REVISION_CHARS && /^[\x21-\x7e ]*$/.test(text)) return `=${text}`;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return `sha256:${[...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}
