import { type FastlyApiCaller, failureOf, requestFastlyApi } from "./fastly-api.ts";

/** Where `kv push` writes: the Fastly API (or a stand-in), one KV store, one token. */
export interface KvBatchTarget extends FastlyApiCaller {
  readonly storeId: string;
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

/** The batch endpoint's URL for a store; `apiUrl` must be http(s). */
export function kvBatchUrl(apiUrl: string, storeId: string): string {
  return `${apiUrl.replace(/\/+$/, "")}/resources/stores/kv/${encodeURIComponent(storeId)}/batch`;
}

/**
 * Sends one NDJSON batch (`PUT …/resources/stores/kv/{store_id}/batch`) and reads the answer. Per-line failures come
 * back as `lineErrors` (on a 200 or on a 400 that lists lines); anything else that is not a success throws
 * `FastlyApiError` whose `retry` tells the retry module what to do.
 */
export async function putKvBatch(
  target: KvBatchTarget,
  body: string,
  now: () => number = Date.now,
): Promise<KvBatchAnswer> {
  const answer = await requestFastlyApi(target, kvBatchUrl(target.apiUrl, target.storeId), {
    method: "PUT",
    headers: { "content-type": "application/x-ndjson" },
    body,
  });
  const { status } = answer;
  const lineErrors = lineErrorsIn(answer.text);
  if (status === 200) return { lineErrors: lineErrors ?? [] };
  if (status === 400 && lineErrors !== null && lineErrors.length > 0) return { lineErrors };

  const where = `KV store ${target.storeId}`;
  throw failureOf(
    answer,
    target,
    {
      refused: (code) =>
        `the Fastly API refused the token (${code}): check that FASTLY_API_TOKEN is valid and may write to ${where}`,
      where,
      flag: "--store-id",
      request: `a batch for ${where}`,
    },
    now,
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
