import { readFile } from "node:fs/promises";
import { Agent, interceptors, request } from "undici";
import type { UnixSeconds } from "../core/time.ts";
import { describeNetworkError, isUrl } from "../node/download.ts";
import { INGEST_USER_AGENT } from "../node/user-agent.ts";
import { UserError } from "../node/user-error.ts";

/** The validators of the last 200, for the next conditional GET (RFC 9110 §13.1.1, §13.1.3). */
export interface FeedValidator {
  readonly source: string;
  readonly etag: string | null;
  readonly lastModified: string | null;
}

export type FeedFetch =
  | { readonly status: "not-modified"; readonly serverTime: UnixSeconds | null }
  | {
      readonly status: "ok";
      readonly body: string;
      readonly validator: FeedValidator;
      readonly serverTime: UnixSeconds | null;
    };

/** A feed larger than this is not crates.io's (its ~100 items are ~50 KB). */
const MAX_FEED_BYTES = 16 * 1024 * 1024;
const FEED_TIMEOUT_MS = 30_000;

/**
 * GETs the feed with the project's User-Agent and, when `previous` is for the same source, `If-None-Match` /
 * `If-Modified-Since`; or reads a file. `serverTime` is the answer's `Date` header (the feed server's clock), so poll
 * times compare with item times on one clock. Failures are a `UserError` naming the source.
 */
export async function fetchFeed(
  source: string,
  previous: FeedValidator | null,
  signal?: AbortSignal,
): Promise<FeedFetch> {
  if (!isUrl(source)) {
    try {
      return {
        status: "ok",
        body: await readFile(source, "utf8"),
        validator: { source, etag: null, lastModified: null },
        serverTime: null,
      };
    } catch (error) {
      throw new UserError(
        `cannot read the feed ${source}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      );
    }
  }
  const headers: Record<string, string> = { "user-agent": INGEST_USER_AGENT, "accept-encoding": "identity" };
  if (previous !== null && previous.source === source) {
    if (previous.etag !== null) headers["if-none-match"] = previous.etag;
    if (previous.lastModified !== null) headers["if-modified-since"] = previous.lastModified;
  }
  const dispatcher = new Agent({ headersTimeout: FEED_TIMEOUT_MS, bodyTimeout: FEED_TIMEOUT_MS }).compose(
    interceptors.redirect({ maxRedirections: 5 }),
  );
  try {
    const timeout = AbortSignal.timeout(FEED_TIMEOUT_MS);
    const response = await request(source, {
      method: "GET",
      headers,
      dispatcher,
      signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
    });
    const serverTime = httpDate(response.headers.date);
    if (response.statusCode === 304) {
      await response.body.dump();
      return { status: "not-modified", serverTime };
    }
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new UserError(`cannot fetch the feed ${source}: the server answered ${response.statusCode}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_FEED_BYTES) throw new UserError(`the feed ${source} is larger than ${MAX_FEED_BYTES} bytes`);
      chunks.push(chunk as Buffer);
    }
    const header = (name: string) => {
      const value = response.headers[name];
      return typeof value === "string" ? value : null;
    };
    return {
      status: "ok",
      body: Buffer.concat(chunks).toString("utf8"),
      validator: { source, etag: header("etag"), lastModified: header("last-modified") },
      serverTime,
    };
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`cannot fetch the feed ${source}: ${describeNetworkError(error)}`);
  } finally {
    await dispatcher.close().catch(() => {});
  }
}

function httpDate(value: string | string[] | undefined): UnixSeconds | null {
  if (typeof value !== "string") return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : null;
}
