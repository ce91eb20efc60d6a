import { createHash } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A stand-in for index.crates.io on 127.0.0.1: fixed files, each with a strong ETag and an hour of freshness (so a
 * proxy's cache can serve it without asking again), answering If-None-Match with 304. Counts the requests it gets,
 * so a benchmark can prove the proxy's cache really was warm.
 */
export interface StaticUpstream {
  /** Base URL ending in `/`. */
  readonly url: string;
  readonly requests: () => number;
  close(): Promise<void>;
}

export async function startStaticUpstream(files: ReadonlyMap<string, string>): Promise<StaticUpstream> {
  const entries = new Map<string, { body: Buffer; etag: string }>(
    [...files].map(([path, text]) => {
      const body = Buffer.from(text, "utf8");
      return [`/${path}`, { body, etag: `"${createHash("sha256").update(body).digest("hex").slice(0, 32)}"` }] as const;
    }),
  );
  let requests = 0;
  const server = createServer((request, response) => {
    requests++;
    const entry = entries.get(new URL(request.url ?? "/", "http://upstream").pathname);
    if (entry === undefined) {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    const headers = { etag: entry.etag, "cache-control": "public, max-age=3600", "content-type": "text/plain" };
    if (request.headers["if-none-match"] === entry.etag) {
      response.writeHead(304, headers).end();
      return;
    }
    response.writeHead(200, { ...headers, "content-length": String(entry.body.byteLength) }).end(entry.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests: () => requests,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
