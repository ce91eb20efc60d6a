import { createReadStream, statSync } from "node:fs";
import { type DownloadedFile, download, isUrl } from "../node/download.ts";
import { UserError } from "../node/user-error.ts";

/** crates.io's daily database dump. */
export const DEFAULT_DUMP_SOURCE = "https://static.crates.io/db-dump.tar.gz";

/**
 * Opens the dump for one streaming read: a GET (with the project's User-Agent, following redirects) or a file.
 * A non-200 answer or a missing file is a `UserError` naming the source.
 */
export async function openDumpSource(source: string, signal?: AbortSignal): Promise<DownloadedFile> {
  if (!isUrl(source)) {
    let size: number;
    try {
      const stat = statSync(source);
      if (!stat.isFile()) throw new UserError(`dump source ${source} is not a file`);
      size = stat.size;
    } catch (error) {
      if (error instanceof UserError) throw error;
      throw new UserError(
        `cannot read the dump ${source}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      );
    }
    return { stream: createReadStream(source, { highWaterMark: 1 << 20, signal }), totalBytes: size };
  }
  return download(source, "the dump", signal);
}
