import { promisify } from "node:util";
import { brotliCompress, brotliCompressSync, constants, gzip, gzipSync } from "node:zlib";
import type { CooldownProxy } from "../core/proxy.ts";
import { type ContentCoding, negotiateContentCoding } from "./accept-encoding.ts";
import { etagForCoding, etagForNotModified, identityIfNoneMatch } from "./coded-etag.ts";

/** Below this, compression saves less than the headers it adds and the CPU it costs. */
export const MIN_COMPRESSED_BYTES = 1024;

type Compressor = (body: Uint8Array) => Promise<Buffer>;

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);
// Quality 4 keeps brotli near gzip's speed for per-request work; the default (11) is meant for static assets.
const brotliOptions = (body: Uint8Array) => ({
  params: { [constants.BROTLI_PARAM_QUALITY]: 4, [constants.BROTLI_PARAM_SIZE_HINT]: body.byteLength },
});
const COMPRESSORS: Readonly<Record<ContentCoding, Compressor>> = {
  gzip: (body) => gzipAsync(body),
  br: (body) => brotliAsync(body, brotliOptions(body)),
};

/** The same compression, synchronously: for bodies compressed once and then served many times. */
export function compressSync(coding: ContentCoding, body: Uint8Array): Buffer {
  return coding === "gzip" ? gzipSync(body) : brotliCompressSync(body, brotliOptions(body));
}

/**
 * Compresses a handler's answers for clients that accept gzip or br, giving each coding its own strong ETag and
 * mapping coded tags in If-None-Match back to the handler's identity tags, so 304s work for every coding.
 * Not compressed: 304s, HEAD answers, bodies under MIN_COMPRESSED_BYTES, and bodies that already carry a coding.
 */
export function withClientCompression(handler: CooldownProxy): CooldownProxy {
  return async function compressing(request: Request): Promise<Response> {
    const ifNoneMatch = request.headers.get("if-none-match");
    const coding = negotiateContentCoding(request.headers.get("accept-encoding"));
    const response = await handler(
      ifNoneMatch === null ? request : withIfNoneMatch(request, identityIfNoneMatch(ifNoneMatch)),
    );
    if (response.headers.has("content-encoding") || (response.status !== 200 && response.status !== 304))
      return response;

    const headers = new Headers(response.headers);
    addVaryAcceptEncoding(headers);
    const etag = headers.get("etag");
    if (response.status === 304) {
      if (etag !== null && ifNoneMatch !== null) headers.set("etag", etagForNotModified(etag, ifNoneMatch, coding));
      return new Response(null, { status: 304, statusText: response.statusText, headers });
    }
    if (request.method === "HEAD" || response.body === null) {
      return new Response(null, { status: response.status, statusText: response.statusText, headers });
    }
    const body = new Uint8Array(await response.arrayBuffer());
    if (coding === null || body.byteLength < MIN_COMPRESSED_BYTES) {
      return new Response(body, { status: response.status, statusText: response.statusText, headers });
    }
    const compressed = await COMPRESSORS[coding](body);
    headers.set("content-encoding", coding);
    headers.set("content-length", String(compressed.byteLength));
    if (etag !== null) headers.set("etag", etagForCoding(etag, coding));
    // Node's Buffers from zlib are backed by plain ArrayBuffers (never shared), which is what BodyInit asks for.
    return new Response(compressed as Uint8Array<ArrayBuffer>, {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  };
}

function withIfNoneMatch(request: Request, ifNoneMatch: string): Request {
  if (ifNoneMatch === request.headers.get("if-none-match")) return request;
  const headers = new Headers(request.headers);
  headers.set("if-none-match", ifNoneMatch);
  return new Request(request.url, { method: request.method, headers });
}

function addVaryAcceptEncoding(headers: Headers): void {
  const vary = headers.get("vary");
  if (vary === null) headers.set("vary", "Accept-Encoding");
  else if (!vary.split(",").some((name) => ["accept-encoding", "*"].includes(name.trim().toLowerCase()))) {
    headers.set("vary", `${vary}, Accept-Encoding`);
  }
}
