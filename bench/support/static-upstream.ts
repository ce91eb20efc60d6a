import { FixtureUpstream } from "../../test/support/fixture-upstream.ts";

/**
 * A stand-in for index.crates.io on 127.0.0.1: fixed files, each with a strong ETag and an hour of freshness (so a
 * proxy's cache can serve it without asking again), answering If-None-Match with 304. Counts the requests it gets,
 * so a benchmark can prove the proxy's cache really was warm. The tests' FixtureUpstream, with these headers.
 */
export interface StaticUpstream {
  /** Base URL ending in `/`. */
  readonly url: string;
  readonly requests: () => number;
  close(): Promise<void>;
}

const HEADERS = { "cache-control": "public, max-age=3600", "content-type": "text/plain" };

export async function startStaticUpstream(files: ReadonlyMap<string, string>): Promise<StaticUpstream> {
  const upstream = await FixtureUpstream.start();
  for (const [path, text] of files) upstream.set(`/${path}`, { body: text, headers: HEADERS });
  return { url: `${upstream.url}/`, requests: () => upstream.requests.length, close: () => upstream.close() };
}
