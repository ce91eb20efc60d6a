/**
 * `fastly_http_cache` (http-cache.witx). Two modes:
 *  - "unsupported": every call answers UNSUPPORTED, exactly as Viceroy (`src/wiggle_abi/http_cache.rs`:
 *    Error::NotAvailable → FastlyStatus::Unsupported). js-compute then uses host caching, and refuses fetches
 *    with afterSend/beforeSend hooks ("HTTP caching API is not enabled; please contact support for help").
 *  - "memory": a real cache shared by all instances (memory-http-cache.ts in the main thread). Lookups and writes
 *    go to the main thread; what a lookup saw stays on the handle, so getters answer without another round trip.
 */
import { createHash } from "node:crypto";
import { HostcallError, Status } from "./fastly-status.ts";
import { Body } from "./guest-body.ts";
import type { GuestContext, HostcallModule } from "./guest-context.ts";
import { latin1Bytes, utf8Bytes } from "./guest-memory.ts";
import { type FoundResponse, Headers, type HttpCacheResource } from "./guest-resources.ts";
import type { BodyFailure } from "./host-protocol.ts";
import { newRequest } from "./hostcalls-http-req.ts";
import {
  type CacheLookupResult,
  CacheState,
  type CacheWriteOptions,
  StorageAction,
  type StoredResponseHead,
} from "./http-cache-types.ts";
import { headerValue, storageActionFor, suggestedCacheOptions } from "./http-freshness.ts";

const HTTP_CACHE_FUNCTIONS = [
  "is_request_cacheable",
  "get_suggested_cache_key",
  "lookup",
  "transaction_lookup",
  "transaction_insert",
  "transaction_insert_and_stream_back",
  "transaction_update",
  "transaction_update_and_return_fresh",
  "transaction_choose_stale",
  "transaction_record_not_cacheable",
  "transaction_abandon",
  "close",
  "get_suggested_backend_request",
  "get_suggested_cache_options",
  "prepare_response_for_storage",
  "get_found_response",
  "get_state",
  "get_length",
  "get_max_age_ns",
  "get_stale_while_revalidate_ns",
  "get_stale_if_error_ns",
  "get_age_ns",
  "get_hits",
  "get_sensitive_data",
  "get_surrogate_keys",
  "get_vary_rule",
];

/** `http_cache_lookup_options_mask`. */
const LOOKUP_OVERRIDE_KEY = 1 << 1;
/** `http_cache_write_options_mask`. */
const WRITE = {
  VARY_RULE: 1 << 1,
  INITIAL_AGE: 1 << 2,
  SWR: 1 << 3,
  SURROGATE_KEYS: 1 << 4,
  LENGTH: 1 << 5,
  SENSITIVE: 1 << 6,
  SIE: 1 << 7,
} as const;
/** Byte offsets in `http_cache_write_options` (56 bytes, 8-aligned; js-compute fastly.h agrees with the witx). */
const OFFSET = {
  MAX_AGE: 0,
  VARY_PTR: 8,
  VARY_LEN: 12,
  INITIAL_AGE: 16,
  SWR: 24,
  SK_PTR: 32,
  SK_LEN: 36,
  LENGTH: 40,
  SIE: 48,
} as const;

export function httpCacheHostcalls(ctx: GuestContext): HostcallModule {
  if (ctx.httpCache === "unsupported") {
    const unsupported: HostcallModule = {};
    for (const name of HTTP_CACHE_FUNCTIONS) {
      unsupported[name] = () => {
        throw new HostcallError(Status.UNSUPPORTED, "HTTP Cache API primitives are not available (as in Viceroy)");
      };
    }
    return unsupported;
  }
  return memoryHttpCacheHostcalls(ctx);
}

function memoryHttpCacheHostcalls(ctx: GuestContext): HostcallModule {
  const handle = (h: number) => ctx.resources.get(h, "http-cache");

  function readWriteOptions(mask: number, ptr: number): CacheWriteOptions {
    const m = ctx.mem;
    const u64 = (offset: number) => Number(m.u64(ptr + offset));
    return {
      maxAgeNs: u64(OFFSET.MAX_AGE),
      varyRule: mask & WRITE.VARY_RULE ? m.latin1(m.u32(ptr + OFFSET.VARY_PTR), m.u32(ptr + OFFSET.VARY_LEN)) : null,
      initialAgeNs: mask & WRITE.INITIAL_AGE ? u64(OFFSET.INITIAL_AGE) : 0,
      swrNs: mask & WRITE.SWR ? u64(OFFSET.SWR) : 0,
      surrogateKeys:
        mask & WRITE.SURROGATE_KEYS ? m.latin1(m.u32(ptr + OFFSET.SK_PTR), m.u32(ptr + OFFSET.SK_LEN)) : null,
      length: mask & WRITE.LENGTH ? u64(OFFSET.LENGTH) : null,
      sensitive: (mask & WRITE.SENSITIVE) !== 0,
      sieNs: mask & WRITE.SIE ? u64(OFFSET.SIE) : 0,
    };
  }

  function takeResponseHead(responseHandle: number): StoredResponseHead {
    const response = ctx.resources.take(responseHandle, "response");
    return { status: response.status, headers: response.headers.list };
  }

  function requireObligation(entry: HttpCacheResource): number {
    if (entry.obligation === null)
      throw new HostcallError(Status.INVAL, "this cache handle holds no obligation to insert or update");
    return entry.obligation;
  }

  function foundFromLookup(result: CacheLookupResult): FoundResponse | null {
    const found = result.found;
    if (found === null) return null;
    return {
      head: found.head,
      options: found.options,
      ageNs: found.ageNs,
      hits: found.hits,
      body: () => new Body(found.body),
    };
  }

  function addHandle(state: number, found: FoundResponse | null): number {
    return ctx.resources.add({ kind: "http-cache", state, found, obligation: null, request: null });
  }

  /** The body the guest writes into while inserting; committed to the shared cache when the guest closes it. */
  function insertionBody(
    txnId: number,
    head: StoredResponseHead,
    options: CacheWriteOptions,
  ): { body: Body; found: FoundResponse } {
    const chunks: Uint8Array[] = [];
    let outcome: "open" | "stored" | "failed" = "open";
    let broke: BodyFailure | null = null;
    const body = new Body();
    body.sink = {
      write: (data) => chunks.push(Uint8Array.from(data)),
      close: (failure) => {
        if (failure !== null) {
          outcome = "failed";
          broke = failure;
          ctx.rpc.call("cache.release", { txnId });
          return;
        }
        outcome = "stored";
        ctx.rpc.call("cache.insert", { txnId, head, options, body: Buffer.concat(chunks) });
      },
    };
    const found: FoundResponse = {
      head,
      options,
      ageNs: options.initialAgeNs,
      hits: 0,
      body: () => {
        if (outcome === "open") {
          throw new Error(
            "compute-host: reading a response from the cache before its insertion body is closed is not implemented",
          );
        }
        const streamed = new Body(Buffer.concat(chunks));
        // The body being inserted broke off (e.g. a truncated backend body): nothing was stored, and the reader gets
        // the same failure the backend body gave.
        streamed.failure = broke;
        return streamed;
      },
    };
    return { body, found };
  }

  function cacheKey(request: { uri: string; headers: Headers }, mask: number, optionsPtr: number): string {
    if (mask & LOOKUP_OVERRIDE_KEY && optionsPtr !== 0) {
      return `override:${Buffer.from(ctx.mem.read(ctx.mem.u32(optionsPtr), ctx.mem.u32(optionsPtr + 4))).toString("hex")}`;
    }
    return `${request.headers.values("host")[0] ?? ""} ${request.uri}`;
  }

  function u64Getter(read: (found: FoundResponse) => number | null) {
    return (h: number, out: number) => {
      const found = handle(h).found;
      const value = found === null ? null : read(found);
      if (value === null) throw new HostcallError(Status.NONE, "no response found");
      ctx.mem.setU64(out, Math.round(value));
    };
  }

  function stringGetter(read: (found: FoundResponse) => string | null) {
    return (h: number, ptr: number, len: number, nwrittenOut: number) => {
      const found = handle(h).found;
      const value = found === null ? null : read(found);
      if (value === null) throw new HostcallError(Status.NONE, "no response found");
      ctx.mem.writeFitting(latin1Bytes(value), ptr, len, nwrittenOut);
    };
  }

  return {
    is_request_cacheable(requestHandle, out) {
      const method = ctx.resources.get(requestHandle, "request").method;
      ctx.mem.setU32(out, method === "GET" || method === "HEAD" ? 1 : 0);
    },
    get_suggested_cache_key(requestHandle, keyOut, keyLen, nwrittenOut) {
      const request = ctx.resources.get(requestHandle, "request");
      const digest = createHash("sha256")
        .update(cacheKey(request, 0, 0))
        .digest();
      ctx.mem.writeFitting(digest, keyOut, keyLen, nwrittenOut);
    },
    transaction_lookup(requestHandle, mask, optionsPtr, handleOut) {
      const request = ctx.resources.get(requestHandle, "request");
      const key = cacheKey(request, mask, optionsPtr);
      const result = ctx.rpc.call("cache.lookup", {
        requestId: ctx.requestId,
        key,
        requestHeaders: request.headers.list,
      });
      ctx.mem.setU32(
        handleOut,
        ctx.resources.add({
          kind: "http-cache",
          state: result.state,
          found: foundFromLookup(result),
          obligation: result.txnId,
          request: { method: request.method, uri: request.uri, headers: request.headers.copy() },
        }),
      );
    },
    get_state(h, stateOut) {
      // js-compute reads a u8 here (fastly.h), the witx says u32 flags; every flag fits in the first byte.
      ctx.mem.setU8(stateOut, handle(h).state);
    },
    get_found_response(h, _transformForClient, responseOut, bodyOut) {
      const entry = handle(h);
      if (entry.found === null || (entry.state & CacheState.USABLE) === 0)
        throw new HostcallError(Status.NONE, "no usable response found");
      ctx.mem.setU32(
        responseOut,
        ctx.resources.add({
          kind: "response",
          status: entry.found.head.status,
          headers: new Headers(entry.found.head.headers.map(([n, v]) => [n, v])),
          version: 2,
        }),
      );
      ctx.mem.setU32(bodyOut, ctx.resources.add({ kind: "body", body: entry.found.body() }));
    },
    get_suggested_backend_request(h, requestOut) {
      const entry = handle(h);
      if (entry.request === null) throw new HostcallError(Status.INVAL, "this cache handle was not made by a lookup");
      const request = {
        ...newRequest(),
        method: entry.request.method,
        uri: entry.request.uri,
        headers: entry.request.headers.copy(),
      };
      // Revalidate a stored response with its validators, so the backend can answer 304.
      const found = entry.found;
      if (found !== null && (entry.state & CacheState.MUST_INSERT_OR_UPDATE) !== 0) {
        const etag = headerValue(found.head.headers, "etag");
        const lastModified = headerValue(found.head.headers, "last-modified");
        if (etag !== null) request.headers.insert("if-none-match", etag);
        if (lastModified !== null) request.headers.insert("if-modified-since", lastModified);
      }
      ctx.mem.setU32(requestOut, ctx.resources.add(request));
    },
    get_suggested_cache_options(h, responseHandle, mask, optionsIn, maskOut, optionsOut) {
      handle(h);
      const suggested = suggestedCacheOptions(ctx.resources.get(responseHandle, "response").headers.list);
      const m = ctx.mem;
      let provided = 0;
      m.setU64(optionsOut + OFFSET.MAX_AGE, suggested.maxAgeNs);
      let buflen = false;
      const writeText = (bit: number, text: string | null, ptrOffset: number, lenOffset: number) => {
        if (!(mask & bit) || text === null) return;
        provided |= bit;
        const bytes = utf8Bytes(text);
        const ptr = m.u32(optionsIn + ptrOffset);
        const capacity = m.u32(optionsIn + lenOffset);
        m.setU32(optionsOut + ptrOffset, ptr);
        m.setU32(optionsOut + lenOffset, bytes.length);
        if (bytes.length > capacity) buflen = true;
        else m.write(ptr, bytes);
      };
      writeText(WRITE.VARY_RULE, suggested.varyRule, OFFSET.VARY_PTR, OFFSET.VARY_LEN);
      writeText(WRITE.SURROGATE_KEYS, suggested.surrogateKeys, OFFSET.SK_PTR, OFFSET.SK_LEN);
      const writeNumber = (bit: number, value: number | null, offset: number) => {
        if (!(mask & bit) || value === null) return;
        provided |= bit;
        m.setU64(optionsOut + offset, value);
      };
      writeNumber(WRITE.INITIAL_AGE, suggested.initialAgeNs, OFFSET.INITIAL_AGE);
      writeNumber(WRITE.SWR, suggested.swrNs, OFFSET.SWR);
      writeNumber(WRITE.SIE, suggested.sieNs, OFFSET.SIE);
      writeNumber(WRITE.LENGTH, suggested.length, OFFSET.LENGTH);
      if (mask & WRITE.SENSITIVE && suggested.sensitive) provided |= WRITE.SENSITIVE;
      m.setU32(maskOut, provided);
      if (buflen) throw new HostcallError(Status.BUFLEN, "a suggested option does not fit its buffer");
    },
    prepare_response_for_storage(h, responseHandle, actionOut, responseOut) {
      const entry = handle(h);
      const head = takeResponseHead(responseHandle);
      let action: number;
      let prepared: StoredResponseHead;
      if (head.status === 304 && entry.found !== null) {
        // A successful revalidation: the stored response with the 304's fresher headers.
        const merged = new Headers(entry.found.head.headers.map(([n, v]) => [n, v]));
        for (const [name] of head.headers) if (name !== "content-length") merged.remove(name);
        for (const [name, value] of head.headers) if (name !== "content-length") merged.append(name, value);
        prepared = { status: entry.found.head.status, headers: merged.list };
        action = StorageAction.UPDATE;
      } else {
        prepared = head;
        action = storageActionFor(head.status, head.headers);
      }
      // js-compute reads a u8 storage action (fastly.h); the values fit in one byte.
      ctx.mem.setU8(actionOut, action);
      ctx.mem.setU32(
        responseOut,
        ctx.resources.add({
          kind: "response",
          status: prepared.status,
          headers: new Headers(prepared.headers),
          version: 2,
        }),
      );
    },
    transaction_insert(h, responseHandle, mask, optionsPtr, bodyOut) {
      const entry = handle(h);
      const txnId = requireObligation(entry);
      const { body } = insertionBody(txnId, takeResponseHead(responseHandle), readWriteOptions(mask, optionsPtr));
      entry.obligation = null;
      ctx.mem.setU32(bodyOut, ctx.resources.add({ kind: "body", body }));
    },
    transaction_insert_and_stream_back(h, responseHandle, mask, optionsPtr, bodyOut, handleOut) {
      const entry = handle(h);
      const txnId = requireObligation(entry);
      const { body, found } = insertionBody(
        txnId,
        takeResponseHead(responseHandle),
        readWriteOptions(mask, optionsPtr),
      );
      entry.obligation = null;
      ctx.mem.setU32(bodyOut, ctx.resources.add({ kind: "body", body }));
      ctx.mem.setU32(handleOut, addHandle(CacheState.FOUND | CacheState.USABLE, found));
    },
    transaction_update(h, responseHandle, mask, optionsPtr) {
      const entry = handle(h);
      const txnId = requireObligation(entry);
      ctx.rpc.call("cache.update", {
        txnId,
        head: takeResponseHead(responseHandle),
        options: readWriteOptions(mask, optionsPtr),
      });
      entry.obligation = null;
    },
    transaction_update_and_return_fresh(h, responseHandle, mask, optionsPtr, handleOut) {
      const entry = handle(h);
      const txnId = requireObligation(entry);
      const result = ctx.rpc.call("cache.update", {
        txnId,
        head: takeResponseHead(responseHandle),
        options: readWriteOptions(mask, optionsPtr),
      });
      entry.obligation = null;
      ctx.mem.setU32(handleOut, addHandle(result.state, foundFromLookup(result)));
    },
    transaction_record_not_cacheable(h, mask, optionsPtr) {
      const entry = handle(h);
      const txnId = requireObligation(entry);
      const options = readWriteOptions(mask, optionsPtr);
      ctx.rpc.call("cache.recordNotCacheable", { txnId, maxAgeNs: options.maxAgeNs, varyRule: options.varyRule });
      entry.obligation = null;
    },
    transaction_choose_stale(h) {
      const entry = handle(h);
      const txnId = requireObligation(entry);
      if (entry.found === null) throw new HostcallError(Status.INVAL, "no stale response to choose");
      ctx.rpc.call("cache.release", { txnId });
      entry.obligation = null;
      entry.state |= CacheState.USABLE;
    },
    transaction_abandon(h) {
      const entry = handle(h);
      const txnId = requireObligation(entry);
      ctx.rpc.call("cache.release", { txnId });
      entry.obligation = null;
    },
    close(h) {
      const entry = ctx.resources.take(h, "http-cache");
      if (entry.obligation !== null) ctx.rpc.call("cache.release", { txnId: entry.obligation });
    },
    get_length: u64Getter((found) => found.options.length),
    get_max_age_ns: u64Getter((found) => found.options.maxAgeNs),
    get_stale_while_revalidate_ns: u64Getter((found) => found.options.swrNs),
    get_stale_if_error_ns: u64Getter((found) => found.options.sieNs),
    get_age_ns: u64Getter((found) => found.ageNs),
    get_hits: u64Getter((found) => found.hits),
    get_sensitive_data(h, out) {
      const found = handle(h).found;
      if (found === null) throw new HostcallError(Status.NONE, "no response found");
      ctx.mem.setU32(out, found.options.sensitive ? 1 : 0);
    },
    get_surrogate_keys: stringGetter((found) => found.options.surrogateKeys ?? ""),
    get_vary_rule: stringGetter((found) => found.options.varyRule ?? ""),
  };
}
