import { type FastlyApiCaller, failureOf, requestFastlyApi } from "./fastly-api.ts";

/** The most surrogate keys Fastly's batch purge takes in one request. */
export const MAX_KEYS_PER_PURGE = 256;

/** Whose cache `kv push` purges: one Fastly service; the token needs the `purge_select` scope on it. */
export interface PurgeTarget extends FastlyApiCaller {
  readonly serviceId: string;
}

/** The batch purge endpoint of a service. */
export function purgeUrl(apiUrl: string, serviceId: string): string {
  return `${apiUrl.replace(/\/+$/, "")}/service/${encodeURIComponent(serviceId)}/purge`;
}

/**
 * Purges up to {@link MAX_KEYS_PER_PURGE} surrogate keys at once (`POST /service/{service_id}/purge` with the keys in
 * a `Surrogate-Key` header, space-separated): a hard purge, so the next request for anything tagged with one of them
 * is computed anew. Throws `FastlyApiError` unless the API answered 200.
 */
export async function purgeSurrogateKeys(
  target: PurgeTarget,
  keys: readonly string[],
  now: () => number = Date.now,
): Promise<void> {
  if (keys.length === 0) return;
  if (keys.length > MAX_KEYS_PER_PURGE)
    throw new RangeError(`${keys.length} surrogate keys in one purge; the API takes at most ${MAX_KEYS_PER_PURGE}`);
  const answer = await requestFastlyApi(target, purgeUrl(target.apiUrl, target.serviceId), {
    method: "POST",
    headers: { "surrogate-key": keys.join(" ") },
  });
  if (answer.status === 200) return;
  const where = `service ${target.serviceId}`;
  throw failureOf(
    answer,
    target,
    {
      refused: (code) =>
        `the Fastly API refused to purge ${where} (${code}): the token needs the purge_select scope on it`,
      where,
      flag: "--service-id",
      request: `a purge of ${where}`,
    },
    now,
  );
}
