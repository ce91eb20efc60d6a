/**
 * `fastly_http_req` (Viceroy `src/wiggle_abi/req_impl.rs`): building requests, sending them to named backends, and
 * waiting for the answers. Sends go to the main thread, which makes the real HTTP request (backend-client.ts); the
 * guest blocks only in pending_req_wait_v2 / async_io.select.
 */
import { HostcallError, SendErrorTag, Status } from "./fastly-status.ts";
import { Body } from "./guest-body.ts";
import type { GuestContext, HostcallModule } from "./guest-context.ts";
import { latin1Bytes, utf8Bytes } from "./guest-memory.ts";
import { Headers, type RequestResource } from "./guest-resources.ts";
import type { BackendResponse, CacheOverride } from "./host-protocol.ts";
import { headerHostcalls } from "./hostcalls-headers.ts";

const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** `http_version` enum: HTTP/1.1. */
const HTTP_11 = 2;
/** `cache_override_tag` flags. */
const OVERRIDE_PASS = 1 << 0;
const OVERRIDE_TTL = 1 << 1;
const OVERRIDE_SWR = 1 << 2;
const OVERRIDE_PCI = 1 << 3;
/** `content_encodings` flags. */
const ENCODING_GZIP = 1 << 0;

export function newRequest(): RequestResource {
  return {
    kind: "request",
    method: "GET",
    uri: "/",
    headers: new Headers(),
    version: HTTP_11,
    autoDecompressGzip: false,
    cacheOverride: null,
  };
}

/** A backend response as the guest gets it: a response handle and a body handle. */
export function insertBackendResponse(ctx: GuestContext, response: BackendResponse): [number, number] {
  const responseHandle = ctx.resources.add({
    kind: "response",
    status: response.status,
    headers: new Headers(response.headers),
    version: HTTP_11,
  });
  const body = new Body(response.body);
  body.failure = response.bodyFailure;
  body.declaredLength = response.knownLength;
  body.lengthUnknown = response.knownLength === null;
  return [responseHandle, ctx.resources.add({ kind: "body", body })];
}

export function httpReqHostcalls(ctx: GuestContext): HostcallModule {
  const request = (handle: number) => ctx.resources.get(handle, "request");

  function send(
    reqHandle: number,
    bodyHandle: number,
    backendPtr: number,
    backendLen: number,
    hostCaching: boolean,
    pendingOut: number,
  ): void {
    const backend = ctx.mem.string(backendPtr, backendLen);
    // Viceroy takes the request and body first, then fails on an unknown backend (Error::UnknownBackend → INVAL).
    const req = ctx.resources.take(reqHandle, "request");
    const body = ctx.resources.take(bodyHandle, "body").body;
    if (!ctx.backendNames.has(backend))
      throw new HostcallError(Status.INVAL, `unknown backend ${JSON.stringify(backend)}`);
    const { pendingId } = ctx.rpc.call("backend.send", {
      requestId: ctx.requestId,
      backend,
      method: req.method,
      uri: req.uri,
      headers: req.headers.list,
      body: body.drain(),
      autoDecompressGzip: req.autoDecompressGzip,
      hostCaching,
      cacheOverride: req.cacheOverride,
    });
    ctx.mem.setU32(pendingOut, ctx.resources.add({ kind: "pending", pendingId }));
  }

  return {
    ...headerHostcalls(ctx, (handle) => request(handle).headers),

    body_downstream_get(requestOut, bodyOut) {
      ctx.mem.setU32(requestOut, ctx.downstreamHandles.request);
      ctx.mem.setU32(bodyOut, ctx.downstreamHandles.body);
    },
    new(requestOut) {
      ctx.mem.setU32(requestOut, ctx.resources.add(newRequest()));
    },
    close(handle) {
      ctx.resources.take(handle, "request");
    },
    method_get(handle, buf, bufLen, nwrittenOut) {
      ctx.mem.writeFitting(latin1Bytes(request(handle).method), buf, bufLen, nwrittenOut);
    },
    method_set(handle, ptr, len) {
      const method = ctx.mem.string(ptr, len);
      if (!METHOD.test(method)) throw new HostcallError(Status.ERROR, `invalid method ${JSON.stringify(method)}`);
      request(handle).method = method;
    },
    uri_get(handle, buf, bufLen, nwrittenOut) {
      ctx.mem.writeFitting(utf8Bytes(request(handle).uri), buf, bufLen, nwrittenOut);
    },
    uri_set(handle, ptr, len) {
      const uri = ctx.mem.string(ptr, len);
      // http::Uri::try_from failing is Error::InvalidUri → ERROR.
      if (!isValidUri(uri)) throw new HostcallError(Status.ERROR, `invalid URI ${JSON.stringify(uri)}`);
      request(handle).uri = uri;
    },
    version_get(handle, versionOut) {
      ctx.mem.setU32(versionOut, request(handle).version);
    },
    version_set(handle, version) {
      if (version > 4) throw new HostcallError(Status.INVAL, "invalid HTTP version");
      request(handle).version = version;
    },
    cache_override_set(handle, tag, ttl, swr) {
      request(handle).cacheOverride = cacheOverride(tag, ttl, swr, null);
    },
    cache_override_v2_set(handle, tag, ttl, swr, skPtr, skLen) {
      const surrogateKey = skLen > 0 ? ctx.mem.latin1(skPtr, skLen) : null;
      request(handle).cacheOverride = cacheOverride(tag, ttl, swr, surrogateKey);
    },
    auto_decompress_response_set(handle, encodings) {
      request(handle).autoDecompressGzip = (encodings & ENCODING_GZIP) !== 0;
    },
    framing_headers_mode_set(handle) {
      // Viceroy records the mode; this host always frames from the body (automatic), as Viceroy does by default.
      request(handle);
    },
    // Host caching: the cache override applies (in "memory" mode the host caches, as production's host caching).
    send_async(reqHandle, bodyHandle, backendPtr, backendLen, pendingOut) {
      send(reqHandle, bodyHandle, backendPtr, backendLen, true, pendingOut);
    },
    send_async_streaming(reqHandle, bodyHandle, backendPtr, backendLen, pendingOut) {
      // The body is complete when sent: js-compute streams only request bodies it builds from streams.
      send(reqHandle, bodyHandle, backendPtr, backendLen, true, pendingOut);
    },
    // "does NOT provide caching of any form" (compute-at-edge.witx): the guest's HTTP cache calls decide.
    send_async_v2(reqHandle, bodyHandle, backendPtr, backendLen, _streaming, pendingOut) {
      send(reqHandle, bodyHandle, backendPtr, backendLen, false, pendingOut);
    },
    pending_req_wait_v2(handle, errorDetailPtr, responseOut, bodyOut) {
      const pending = ctx.resources.take(handle, "pending");
      const outcome = ctx.rpc.call("pending.wait", { pendingId: pending.pendingId });
      if (!outcome.ok) {
        // Viceroy leaves the detail untouched (the guest's zeroed struct reads as "uninitialized"); production fills
        // it. We fill the tag like production so js-compute's message names the cause. Only the tag byte is written:
        // js-compute declares tag and mask as u8 (fastly.h), the witx as u32 — byte 0 is the tag either way.
        if (errorDetailPtr !== 0) ctx.mem.setU8(errorDetailPtr, SendErrorTag[outcome.detail]);
        throw new HostcallError(outcome.status, outcome.message);
      }
      const [responseHandle, bodyHandle] = insertBackendResponse(ctx, outcome.response);
      ctx.mem.setU32(responseOut, responseHandle);
      ctx.mem.setU32(bodyOut, bodyHandle);
    },
  };
}

function cacheOverride(tag: number, ttl: number, swr: number, surrogateKey: string | null): CacheOverride {
  return {
    pass: (tag & OVERRIDE_PASS) !== 0,
    ttlSeconds: (tag & OVERRIDE_TTL) !== 0 ? ttl : null,
    swrSeconds: (tag & OVERRIDE_SWR) !== 0 ? swr : null,
    pci: (tag & OVERRIDE_PCI) !== 0,
    surrogateKey,
  };
}

function isValidUri(uri: string): boolean {
  if (uri.startsWith("/")) return !/[\s]/.test(uri);
  try {
    new URL(uri);
    return !/[\s]/.test(uri);
  } catch {
    return false;
  }
}
