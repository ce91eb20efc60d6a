import { ifNoneMatchHolds } from "../core/if-none-match.ts";

/** The request headers that make a GET conditional; this home answers them itself from its cache. */
export const CONDITIONAL_REQUEST_HEADERS = ["if-none-match", "if-modified-since"] as const;

/** RFC 9110 §15.4.5: the fields a 304 carries, those a 200 would have sent. */
const NOT_MODIFIED_HEADERS = ["cache-control", "content-location", "date", "etag", "expires", "last-modified", "vary"];

/**
 * Whether a client holding the validators in `request` already has the representation described by `response`
 * (RFC 9110 §13.2.2: If-None-Match decides when present; If-Modified-Since only without it).
 */
export function isNotModified(request: Headers, response: Headers): boolean {
  const ifNoneMatch = request.get("if-none-match");
  if (ifNoneMatch !== null) {
    const etag = response.get("etag");
    if (etag === null) return ifNoneMatch.trim() === "*";
    return !ifNoneMatchHolds(ifNoneMatch, etag);
  }
  const ifModifiedSince = Date.parse(request.get("if-modified-since") ?? "");
  const lastModified = Date.parse(response.get("last-modified") ?? "");
  return Number.isFinite(ifModifiedSince) && Number.isFinite(lastModified) && lastModified <= ifModifiedSince;
}

export function notModifiedResponse(response: Headers): Response {
  const headers = new Headers();
  for (const name of NOT_MODIFIED_HEADERS) {
    const value = response.get(name);
    if (value !== null) headers.set(name, value);
  }
  return new Response(null, { status: 304, headers });
}
