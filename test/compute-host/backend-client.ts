/**
 * Real HTTP(S) requests to a named backend, from the main thread, shaped as Viceroy's `src/upstream.rs` sends them:
 * the backend URL's origin and path prefix + the request's path and query; `Host` = override_host, else the
 * request's Host, else the request URI's authority. Bodies are buffered whole, but a body that breaks off keeps its
 * failure (the guest's http_body.read fails after the bytes that came). Failures before the response map to the
 * `send_error_detail` tag production reports and the status Viceroy returns (src/error.rs: parse errors HTTPINVALID,
 * incomplete messages HTTPINCOMPLETE, everything else ERROR).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { gunzipSync } from "node:zlib";
import type { SendErrorTagName } from "./fastly-status.ts";
import { Status } from "./fastly-status.ts";
import type { BackendResponse, HeaderList, PendingOutcome } from "./host-protocol.ts";

export interface BackendTarget {
  readonly url: string;
  readonly overrideHost?: string;
  /** Fastly's defaults: 1000 ms to connect, 15000 ms to the first byte, 10000 ms between bytes. */
  readonly connectTimeoutMs?: number;
  readonly firstByteTimeoutMs?: number;
  readonly betweenBytesTimeoutMs?: number;
}

export interface OutgoingRequest {
  readonly method: string;
  readonly uri: string;
  readonly headers: HeaderList;
  readonly body: Uint8Array;
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "upgrade",
  "host",
  "content-length",
]);

class SendFailure extends Error {
  constructor(
    readonly detail: SendErrorTagName,
    message: string,
  ) {
    super(message);
  }
}

class BodyTimeout extends Error {}

export class BackendClient {
  private readonly httpAgent = new HttpAgent({ keepAlive: true });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true });

  send(target: BackendTarget, outgoing: OutgoingRequest): Promise<PendingOutcome> {
    return new Promise((resolve) => {
      const base = new URL(target.url);
      const requested = outgoing.uri.startsWith("/")
        ? new URL(outgoing.uri, "http://placeholder")
        : new URL(outgoing.uri);
      const prefix = base.pathname.endsWith("/") ? base.pathname : `${base.pathname}/`;
      const path = prefix + (requested.pathname + requested.search).replace(/^\//, "");
      const hostHeader =
        target.overrideHost ??
        outgoing.headers.find(([name]) => name === "host")?.[1] ??
        (outgoing.uri.startsWith("/") ? base.host : requested.host);
      const headers: string[] = ["host", hostHeader];
      for (const [name, value] of outgoing.headers) if (!HOP_BY_HOP.has(name)) headers.push(name, value);
      if (outgoing.body.length > 0 || !["GET", "HEAD", "DELETE", "OPTIONS"].includes(outgoing.method))
        headers.push("content-length", String(outgoing.body.length));

      const https = base.protocol === "https:";
      const request = (https ? httpsRequest : httpRequest)({
        protocol: base.protocol,
        hostname: base.hostname,
        port: base.port === "" ? (https ? 443 : 80) : Number(base.port),
        method: outgoing.method,
        path,
        headers,
        agent: https ? this.httpsAgent : this.httpAgent,
        servername: https ? base.hostname : undefined,
      });
      const timers: NodeJS.Timeout[] = [];
      const timer = (ms: number, fire: () => void) => {
        const t = setTimeout(fire, ms);
        timers.push(t);
        return t;
      };
      const clearTimers = () => timers.forEach(clearTimeout);
      let settled = false;
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        clearTimers();
        resolve(sendFailure(error));
      };

      request.on("socket", (socket) => {
        if (socket.connecting) {
          const connectTimer = timer(target.connectTimeoutMs ?? 1000, () =>
            request.destroy(
              new SendFailure(
                "connection_timeout",
                `could not connect to ${base.host} within ${target.connectTimeoutMs ?? 1000} ms`,
              ),
            ),
          );
          socket.once(https ? "secureConnect" : "connect", () => clearTimeout(connectTimer));
        }
      });
      request.on("finish", () => {
        timer(target.firstByteTimeoutMs ?? 15000, () =>
          request.destroy(
            new SendFailure(
              "http_response_timeout",
              `no response from ${base.host} within ${target.firstByteTimeoutMs ?? 15000} ms`,
            ),
          ),
        );
      });
      request.on("error", fail);
      request.on("response", (response) => {
        clearTimers();
        settled = true;
        void readBody(response, target.betweenBytesTimeoutMs ?? 10000).then(resolve);
      });
      request.end(outgoing.body);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

async function readBody(response: IncomingMessage, betweenBytesMs: number): Promise<PendingOutcome> {
  const headers: HeaderList = [];
  for (let i = 0; i < response.rawHeaders.length; i += 2)
    headers.push([response.rawHeaders[i]!.toLowerCase(), response.rawHeaders[i + 1]!]);
  const chunks: Buffer[] = [];
  const failure = await new Promise<Error | null>((done) => {
    const idle = setTimeout(
      () => response.destroy(new BodyTimeout(`no body bytes for ${betweenBytesMs} ms`)),
      betweenBytesMs,
    );
    response.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      idle.refresh();
    });
    response.on("end", () => {
      clearTimeout(idle);
      done(null);
    });
    response.on("error", (error) => {
      clearTimeout(idle);
      done(error);
    });
    response.on("close", () => {
      clearTimeout(idle);
      done(response.complete ? null : new Error("the backend closed the connection before the whole body arrived"));
    });
  });
  const body = Buffer.concat(chunks);
  const declared = headers.find(([name]) => name === "content-length")?.[1];
  let bodyFailure: BackendResponse["bodyFailure"] = null;
  if (failure instanceof BodyTimeout) bodyFailure = { status: Status.ERROR, message: failure.message };
  else if (failure !== null) bodyFailure = { status: Status.HTTPINCOMPLETE, message: failure.message };
  else if (declared !== undefined && Number(declared) !== body.length) {
    bodyFailure = {
      status: Status.HTTPINCOMPLETE,
      message: `the body ended after ${body.length} of ${declared} bytes`,
    };
  }
  const knownLength = declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : null;
  return { ok: true, response: { status: response.statusCode ?? 502, headers, body, bodyFailure, knownLength } };
}

/**
 * `auto_decompress_response_set(gzip)`: Viceroy gunzips bodies whose Content-Encoding is gzip/x-gzip and drops
 * Content-Encoding and Content-Length (src/upstream.rs); a corrupt stream fails the body read (an I/O error: ERROR).
 */
export function decompressGzip(response: BackendResponse): BackendResponse {
  const encoding = response.headers
    .find(([name]) => name === "content-encoding")?.[1]
    ?.trim()
    .toLowerCase();
  if (encoding !== "gzip" && encoding !== "x-gzip") return response;
  const headers = response.headers.filter(([name]) => name !== "content-encoding" && name !== "content-length");
  let body: Uint8Array = new Uint8Array(0);
  let bodyFailure = response.bodyFailure;
  try {
    if (bodyFailure === null) body = gunzipSync(response.body);
  } catch (error) {
    bodyFailure = { status: Status.ERROR, message: `gzip: ${error instanceof Error ? error.message : String(error)}` };
  }
  return { status: response.status, headers, body, bodyFailure, knownLength: null };
}

function sendFailure(error: Error): PendingOutcome {
  if (error instanceof SendFailure)
    return { ok: false, status: Status.ERROR, detail: error.detail, message: error.message };
  const code = (error as NodeJS.ErrnoException).code ?? "";
  const failed = (detail: SendErrorTagName, status: (typeof Status)[keyof typeof Status] = Status.ERROR) => ({
    ok: false as const,
    status,
    detail,
    message: `${code} ${error.message}`.trim(),
  });
  if (code === "ECONNREFUSED") return failed("connection_refused");
  if (code === "ENOTFOUND" || code === "EAI_NONAME" || code === "EAI_NODATA") return failed("dns_error");
  if (code === "EAI_AGAIN") return failed("dns_timeout");
  if (code === "ETIMEDOUT") return failed("connection_timeout");
  if (code === "EHOSTUNREACH" || code === "ENETUNREACH" || code === "EADDRNOTAVAIL")
    return failed("destination_ip_unroutable");
  if (code === "ECONNRESET" || code === "EPIPE") return failed("connection_terminated");
  if (code.startsWith("HPE_")) return failed("http_protocol_error", Status.HTTPINVALID);
  if (/CERT|SIGNATURE|SELF_SIGNED|ALTNAME|UNABLE_TO_(GET|VERIFY)/.test(code)) return failed("tls_certificate_error");
  if (code.startsWith("ERR_SSL") || code === "EPROTO" || code.startsWith("ERR_TLS"))
    return failed("tls_protocol_error");
  return failed("internal_error");
}
