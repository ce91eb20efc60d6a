/**
 * Surrogate keys: the edge tags what it keeps in the Core Cache with them, and `kv push --service-id` purges them
 * through Fastly's purge API, so a pushed record or policy applies at once instead of when the kept copy ends. Shared
 * by both sides, so they can never disagree on a name. Crate names are ASCII letters, digits, `-` and `_` (at most 64),
 * well within Fastly's 1 KiB of visible ASCII per key.
 */

/** Every filtered answer the edge keeps: purged when too many crates changed to name them one by one. */
export const ANSWERS_SURROGATE_KEY = "cooldown-answers";

/**
 * The edge's cached copy of `_policy`, and every filtered answer (each was made under a policy, and a hit does not look
 * the policy up while the copy it was made with may be used): purged when a push writes a policy.
 */
export const POLICY_SURROGATE_KEY = "cooldown-policy";

/** The filtered answers of one crate (every window): purged when a push writes the crate's record. */
export function crateSurrogateKey(crate: string): string {
  return `cooldown-crate-${crate.toLowerCase()}`;
}
