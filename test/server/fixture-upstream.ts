import { createHash } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";

/** One file the fixture serves. */
export interface FixtureFile {
  readonly body: string | Buffer;
  /** Extra response headers, e.g. `cache-control`. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Send the body gzip-coded when the request accepts gzip. */
  readonly gzip?: boolean;
  /** Send the body as is with this Content-Encoding, whatever the request accepts. */
  readonly forcedEncoding?: string;
  readonly status?: number;
}

export interface FixtureRequest {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** What the fixture answered. */
  readonly status: number;
}

/**
 * A tiny real upstream index on 127.0.0.1: serves the files it is given with a strong ETag each, answers
 * If-None-Match with 304, and records every request it sees.
 */
export class FixtureUpstream {
  readonly requests: FixtureRequest[] = [];
  private readonly files = new Map<string, FixtureFile>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<FixtureUpstream> {
    let fixture: FixtureUpstream | undefined;
    const server = createServer((request, response) => fixture?.answer(request.url ?? "/", request.headers, response));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    fixture = new FixtureUpstream(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return fixture;
  }

  /** Serves `file` at `path` (with a leading slash, e.g. `/se/rd/serde`). */
  set(path: string, file: FixtureFile): void {
    this.files.set(path, file);
  }

  requestsFor(path: string): FixtureRequest[] {
    return this.requests.filter((request) => request.path === path);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, "close");
  }

  private answer(path: string, headers: IncomingHttpHeaders, response: import("node:http").ServerResponse): void {
    const file = this.files.get(path);
    if (file === undefined) {
      this.requests.push({ path, headers, status: 404 });
      response.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    const body = typeof file.body === "string" ? Buffer.from(file.body) : file.body;
    const etag = `"${createHash("sha256").update(body).digest("hex").slice(0, 16)}"`;
    const common = { etag, ...file.headers };
    if (headers["if-none-match"] === etag) {
      this.requests.push({ path, headers, status: 304 });
      response.writeHead(304, common).end();
      return;
    }
    const status = file.status ?? 200;
    this.requests.push({ path, headers, status });
    if (file.forcedEncoding !== undefined) {
      response.writeHead(status, { ...common, "content-encoding": file.forcedEncoding }).end(body);
    } else if (file.gzip && /\bgzip\b/.test(headers["accept-encoding"] ?? "")) {
      response.writeHead(status, { ...common, "content-encoding": "gzip", vary: "Accept-Encoding" }).end(gzipSync(body));
    } else {
      response.writeHead(status, common).end(body);
    }
  }
}
