import { CRATES_IO_INDEX_ORIGIN } from "../core/index-path.ts";
import { UserError } from "./user-error.ts";

export const DEFAULT_UPSTREAM = CRATES_IO_INDEX_ORIGIN;

/**
 * Parses the upstream sparse index URL. The result always ends with `/`, so an index path can be appended to it;
 * a query, fragment or credentials would be silently dropped or leaked upstream, so they are refused.
 */
export function parseUpstreamUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UserError(`--upstream "${text}" is not a URL; expected e.g. https://index.crates.io`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UserError(`--upstream "${text}" must be an http or https URL, e.g. https://index.crates.io`);
  }
  if (url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "") {
    throw new UserError(`--upstream "${text}" must not carry a query, fragment or credentials`);
  }
  if (!url.pathname.endsWith("/")) url.pathname += "/";
  return url;
}

export function isCratesIoIndex(upstream: URL): boolean {
  return upstream.origin === CRATES_IO_INDEX_ORIGIN;
}
