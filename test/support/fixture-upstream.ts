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
  /** Wait this long before answering (an upstream slower than the proxy's timeout). */
  readonly delayMs?: number;
  /** Send no ETag (and so never 304). */
  readonly noEtag?: boolean;
  /** Announce the whole body's Content-Length, send half of it, then cut the connection. */
  readonly truncate?: boolean;
}

export interface FixtureRequest {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** What the fixture answered. */
  readonly status: number;
}

/**
 * A tiny real upstream index on 127.0.0.1: serves the files it is given with a strong ETag each, answers
 * If-None-Match with 304, and records every request it sees. The server tests and the benchmarks' static upstream
 * (bench/support/static-upstream.ts) use it; the fake crates.io (fake-crates-io.ts) is for tests that publish crates.
 */
export class FixtureUpstream {
  readonly requests: FixtureRequest[] = [];
  /** Each file with its body as bytes and its ETag, computed once when set. */
  private readonly files = new Map<string, { file: FixtureFile; body: Buffer; etag: string }>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  /** `lifetimeMs`: stop serving after this long by itself (an unref'd timer), so a forgotten fixture cannot hold a run. */
  static async start(options: { lifetimeMs?: number } = {}): Promise<FixtureUpstream> {
    let fixture: FixtureUpstream | undefined;
    const server = createServer((request, response) => fixture?.answer(request.url ?? "/", request.headers, response));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    fixture = new FixtureUpstream(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    if (options.lifetimeMs !== undefined) {
      const watchdog = setTimeout(() => void fixture?.close(), options.lifetimeMs);
      watchdog.unref();
      server.once("close", () => clearTimeout(watchdog));
    }
    return fixture;
  }

  private closing: Promise<void> | undefined;

  /** Serves `file` at `path` (with a leading slash, e.g. `/se/rd/serde`). */
  set(path: string, file: FixtureFile): void {
    const body = typeof file.body === "string" ? Buffer.from(file.body) : file.body;
    this.files.set(path, { file, body, etag: `"${createHash("sha256").update(body).digest("hex").slice(0, 16)}"` });
  }

  requestsFor(path: string): FixtureRequest[] {
    return this.requests.filter((request) => request.path === path);
  }

  /** Stops serving; may be called any number of times. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const closed = once(this.server, "close");
      this.server.close();
      this.server.closeAllConnections();
      await closed;
    })();
    return this.closing;
  }

  private answer(path: string, headers: IncomingHttpHeaders, response: import("node:http").ServerResponse): void {
    const served = this.files.get(path);
    const delayMs = served?.file.delayMs;
    if (delayMs !== undefined && delayMs > 0) {
      const later = setTimeout(() => {
        if (!response.destroyed) this.answerNow(path, headers, response, served);
      }, delayMs);
      later.unref();
      response.on("close", () => clearTimeout(later));
      return;
    }
    this.answerNow(path, headers, response, served);
  }

  private answerNow(
    path: string,
    headers: IncomingHttpHeaders,
    response: import("node:http").ServerResponse,
    served: { file: FixtureFile; body: Buffer; etag: string } | undefined,
  ): void {
    if (served === undefined) {
      this.requests.push({ path, headers, status: 404 });
      response.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    const { file, body, etag } = served;
    const common: Record<string, string> = file.noEtag === true ? { ...file.headers } : { etag, ...file.headers };
    if (file.noEtag !== true && headers["if-none-match"] === etag) {
      this.requests.push({ path, headers, status: 304 });
      response.writeHead(304, common).end();
      return;
    }
    const status = file.status ?? 200;
    this.requests.push({ path, headers, status });
    if (file.truncate === true) {
      const sent = file.gzip && /\bgzip\b/.test(headers["accept-encoding"] ?? "") ? gzipSync(body) : body;
      const coding: Record<string, string> =
        sent === body ? {} : { "content-encoding": "gzip", vary: "Accept-Encoding" };
      response.writeHead(status, { ...common, ...coding, "content-length": String(sent.byteLength) });
      response.write(sent.subarray(0, Math.floor(sent.byteLength / 2)), () => response.socket?.destroy());
    } else if (file.forcedEncoding !== undefined) {
      response.writeHead(status, { ...common, "content-encoding": file.forcedEncoding }).end(body);
    } else if (file.gzip && /\bgzip\b/.test(headers["accept-encoding"] ?? "")) {
      response
        .writeHead(status, { ...common, "content-encoding": "gzip", vary: "Accept-Encoding" })
        .end(gzipSync(body));
    } else {
      response.writeHead(status, common).end(body);
    }
  }
}
