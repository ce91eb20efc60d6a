import { createReadStream, statSync } from "node:fs";
import { createServer, type IncomingHttpHeaders } from "node:http";
import { listenBounded } from "./bounded-loopback-server.ts";

/**
 * Serves one file over HTTP on 127.0.0.1, as static.crates.io serves `db-dump.tar.gz`, optionally misbehaving:
 * a connection cut after `cutAfterBytes` (with the full Content-Length announced: a dropped download), or a fixed
 * error status. Bounded: at most `maxRequests` answers, closed after `timeoutMs`.
 */
export interface LoopbackFileServerOptions {
  readonly cutAfterBytes?: number;
  readonly status?: number;
  readonly maxRequests?: number;
  readonly timeoutMs?: number;
}

export interface LoopbackFileServer {
  /** The file's URL, `http://127.0.0.1:PORT/db-dump.tar.gz`. */
  readonly url: string;
  readonly requests: readonly IncomingHttpHeaders[];
  close(): Promise<void>;
}

export async function serveFileOnLoopback(
  path: string,
  options: LoopbackFileServerOptions = {},
): Promise<LoopbackFileServer> {
  const requests: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    requests.push(req.headers);
    if (requests.length > (options.maxRequests ?? 20) || req.url !== "/db-dump.tar.gz") {
      res.writeHead(404).end();
      return;
    }
    if (options.status !== undefined && options.status !== 200) {
      res.writeHead(options.status, { "content-type": "text/plain" }).end("no\n");
      return;
    }
    const size = statSync(path).size;
    res.writeHead(200, { "content-type": "application/gzip", "content-length": String(size) });
    if (options.cutAfterBytes === undefined) {
      createReadStream(path).pipe(res);
      return;
    }
    const partial = createReadStream(path, { start: 0, end: Math.max(0, options.cutAfterBytes - 1) });
    partial.on("data", (chunk) => res.write(chunk));
    // The promised bytes never come: the socket just closes, as a dropped connection does.
    partial.on("end", () => setTimeout(() => res.socket?.destroy(), 20));
  });
  const { port, close } = await listenBounded(server, options.timeoutMs ?? 120_000);
  return { url: `http://127.0.0.1:${port}/db-dump.tar.gz`, requests, close };
}
