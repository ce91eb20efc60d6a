import type { Readable } from "node:stream";
import { Agent, interceptors, request } from "undici";
import { INGEST_USER_AGENT } from "./user-agent.ts";
import { UserError } from "./user-error.ts";

/** A file (the dump, the advisory database) as a stream, with its size when known (for progress and ETA). */
export interface DownloadedFile {
  readonly stream: Readable;
  readonly totalBytes: number | null;
}

/** `--source` is an http(s) URL or a local path. */
export function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

/**
 * One streaming GET of a file to download (the dump, the advisory database): the project's User-Agent, identity
 * coding, redirects followed; a network error or a non-200 answer is a `UserError` saying `what` could not be had.
 */
export async function download(source: string, what: string, signal?: AbortSignal): Promise<DownloadedFile> {
  const dispatcher = new Agent({ headersTimeout: 60_000, bodyTimeout: 120_000 }).compose(
    interceptors.redirect({ maxRedirections: 5 }),
  );
  let response: Awaited<ReturnType<typeof request>>;
  try {
    response = await request(source, {
      method: "GET",
      headers: { "user-agent": INGEST_USER_AGENT, "accept-encoding": "identity" },
      dispatcher,
      signal,
    });
  } catch (error) {
    await dispatcher.close().catch(() => {});
    throw new UserError(`cannot download ${what} from ${source}: ${describeNetworkError(error)}`);
  }
  if (response.statusCode !== 200) {
    await response.body.dump().catch(() => {});
    await dispatcher.close().catch(() => {});
    throw new UserError(`cannot download ${what} from ${source}: the server answered ${response.statusCode}`);
  }
  const length = Number(response.headers["content-length"]);
  const stream = response.body;
  // The agent goes once the body is read or abandoned.
  stream.once("close", () => void dispatcher.close().catch(() => {}));
  return { stream, totalBytes: Number.isFinite(length) && length > 0 ? length : null };
}

/** undici errors carry a code and a terse message; both help more than a stack. */
export function describeNetworkError(error: unknown): string {
  const e = error as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const cause = e.cause?.code ?? e.cause?.message;
  return (
    [e.code, e.message, cause].filter((part) => typeof part === "string" && part.length > 0).join(": ") || String(error)
  );
}
