import { KVStore } from "fastly:kv-store";
import { DEFAULT_POLICY, decodePolicy, POLICY_KV_KEY, type Policy } from "../core/policy-document.ts";
import { PUBLISH_TIMES_STORE } from "./kv-publish-times.ts";

/**
 * The operator's policy (yanked and unknown-age modes, exceptions, security-fix admission) as the job pushes it next
 * to the crates; the defaults when none was pushed. A record this build cannot read throws: a policy must never run
 * half-understood. (The handler reads it through the Core Cache: `cached-policy.ts`.)
 */
export async function readKvPolicy(storeName: string = PUBLISH_TIMES_STORE): Promise<Policy> {
  return (await readKvPolicyRecord(storeName)).policy;
}

/** The policy and the record's text (`null` when none was pushed). */
export async function readKvPolicyRecord(
  storeName: string = PUBLISH_TIMES_STORE,
): Promise<{ policy: Policy; text: string | null }> {
  // Opened here, not earlier: Compute allows a KVStore only while handling a request.
  const entry = await new KVStore(storeName).get(POLICY_KV_KEY);
  if (entry === null) return { policy: DEFAULT_POLICY, text: null };
  const text = await entry.text();
  return { policy: decodePolicy(text), text };
}
