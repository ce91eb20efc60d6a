import { createReadStream, statSync } from "node:fs";
import type { Readable } from "node:stream";
import { Agent, interceptors, request } from "undici";
import { UserError } from "../user-error.ts";
import { INGEST_USER_AGENT } from "./user-agent.ts";

/** crates.io's daily database dump. */
export const DEFAULT_DUMP_SOURCE = "https://static.crates.io/db-dump.tar.gz";

/** The compressed dump as a stream, with its size when known (for progress and ETA). */
export interface DumpSource {
  readonly stream: Readable;
  readonly totalBytes: number | null;
}

/** `--source` is an http(s) URL or a local path. */
export function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

/**
 * Opens the dump for one streaming read: a GET (with the project's User-Agent, following redirects) or a file.
 * A non-200 answer or a missing file is a `UserError` naming the source.
 */
export async function openDumpSource(source: string, signal?: AbortSignal): Promise<DumpSource> {
  if (!isUrl(source)) {
    let size: number;
    try {
      const stat = statSync(source);
      if (!stat.isFile()) throw new UserError(`dump source ${source} is not a file`);
      size = stat.size;
    } catch (error) {
      if (error instanceof UserError) throw error;
      throw new UserError(`cannot read the dump ${source}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    return { stream: createReadStream(source, { highWaterMark: 1 << 20, signal }), totalBytes: size };
  }
  return download(source, "the dump", signal);
}

/**
 * One streaming GET of a file to download (the dump, the advisory database): the project's User-Agent, identity
 * coding, redirects followed; a network error or a non-200 answer is a `UserError` saying `what` could not be had.
 */
export async function download(source: string, what: string, signal?: AbortSignal): Promise<DumpSource> {
  const dispatcher = new Agent({ headersTimeout: 60_000, bodyTimeout: 120_000 }).compose(interceptors.redirect({ maxRedirections: 5 }));
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
  return [e.code, e.message, cause].filter((part) => typeof part === "string" && part.length > 0).join(": ") || String(error);
}
