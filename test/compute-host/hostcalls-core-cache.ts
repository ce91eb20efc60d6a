/**
 * `fastly_cache` (cache.witx, the Core Cache behind `fastly:cache`) and `fastly_purge`, as Viceroy implements them
 * (`src/wiggle_abi/cache.rs`, `fastly_purge_impl.rs`). The objects live in the main thread (core-cache.ts), shared by
 * every instance; a handle keeps what its lookup saw (Viceroy clones the object's metadata), and ages and states are
 * computed when asked, by the host's clock. Independent of the HTTP cache mode: Viceroy has the Core Cache too.
 *
 * Not implemented, as in Viceroy: `replace*` (they trap, naming themselves, as every call this host lacks).
 */

import type { CoreFound, CoreLookupResult, CoreWriteOptions } from "./core-cache.ts";
import { HostcallError, Status } from "./fastly-status.ts";
import { Body, UNFINISHED_CACHED_BODY } from "./guest-body.ts";
import type { GuestContext, HostcallModule } from "./guest-context.ts";
import type { CoreCacheResource } from "./guest-resources.ts";
import type { HeaderList } from "./host-protocol.ts";

/** Viceroy `CacheKey::MAX_LENGTH`. */
const MAX_KEY_LENGTH = 4096;
/** `cache_lookup_options_mask`. */
const LOOKUP = { REQUEST_HEADERS: 1 << 1, SERVICE_ID: 1 << 2, ALWAYS_USE_REQUESTED_RANGE: 1 << 3 } as const;
/** `cache_write_options_mask`. */
const WRITE = {
  REQUEST_HEADERS: 1 << 1,
  VARY_RULE: 1 << 2,
  INITIAL_AGE: 1 << 3,
  SWR: 1 << 4,
  SURROGATE_KEYS: 1 << 5,
  LENGTH: 1 << 6,
  USER_METADATA: 1 << 7,
  SENSITIVE: 1 << 8,
  EDGE_MAX_AGE: 1 << 9,
  SERVICE_ID: 1 << 10,
} as const;
/** `cache_write_options` (cache.witx; js-compute's `CacheWriteOptions` is the same record without its last three fields). */
const OFFSET = {
  MAX_AGE: 0,
  REQUEST_HEADERS: 8,
  VARY_PTR: 12,
  VARY_LEN: 16,
  INITIAL_AGE: 24,
  SWR: 32,
  SK_PTR: 40,
  SK_LEN: 44,
  LENGTH: 48,
  UM_PTR: 56,
  UM_LEN: 60,
  EDGE_MAX_AGE: 64,
} as const;
/** `cache_get_body_options_mask`. */
const GET_BODY = { FROM: 1 << 1, TO: 1 << 2 } as const;
/** `cache_lookup_state`. */
const STATE = { FOUND: 1 << 0, USABLE: 1 << 1, STALE: 1 << 2, MUST_INSERT_OR_UPDATE: 1 << 3 } as const;
/** `purge_options_mask`. */
const PURGE = { SOFT: 1 << 0 } as const;
const NS_PER_MS = 1_000_000n;
/** Viceroy: surrogate keys together at most 16 KiB, each at most 1 KiB of visible ASCII. */
const MAX_SURROGATE_KEYS_LENGTH = 16 * 1024;
const MAX_SURROGATE_KEY_LENGTH = 1024;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9a-zA-Z]+$/;

export function coreCacheHostcalls(ctx: GuestContext): HostcallModule {
  const m = ctx.mem;
  const now = () => Date.now() + ctx.clockOffsetMs;

  function readKey(ptr: number, len: number): string {
    // Viceroy: a key longer than 4 KiB is CacheError::InvalidKey → INVAL (js-compute's own limit is 8135 bytes).
    if (len > MAX_KEY_LENGTH)
      throw new HostcallError(Status.INVAL, `cache key of ${len} bytes (at most ${MAX_KEY_LENGTH})`);
    return Buffer.from(m.read(ptr, len)).toString("hex");
  }

  function requestHeaders(requestHandle: number): HeaderList {
    return ctx.resources.get(requestHandle, "request").headers.list.map(([n, v]) => [n, v]);
  }

  /** Viceroy `load_lookup_options`. */
  function lookupOptions(mask: number, ptr: number): { headers: HeaderList; alwaysUseRequestedRange: boolean } {
    const headers = mask & LOOKUP.REQUEST_HEADERS ? requestHeaders(m.u32(ptr)) : [];
    if (mask & LOOKUP.SERVICE_ID)
      throw new HostcallError(Status.UNSUPPORTED, "service ID in cache lookup is not supported (as in Viceroy)");
    const alwaysUseRequestedRange = (mask & LOOKUP.ALWAYS_USE_REQUESTED_RANGE) !== 0;
    if (mask & ~(LOOKUP.REQUEST_HEADERS | LOOKUP.ALWAYS_USE_REQUESTED_RANGE))
      throw new HostcallError(Status.UNSUPPORTED, "unknown cache lookup option");
    return { headers, alwaysUseRequestedRange };
  }

  /** Viceroy `load_write_options` (request headers are handled by the caller). */
  function writeOptions(mask: number, ptr: number): CoreWriteOptions {
    const u64 = (offset: number) => m.u64(ptr + offset);
    const maxAgeNs = u64(OFFSET.MAX_AGE);
    const initialAgeNs = mask & WRITE.INITIAL_AGE ? u64(OFFSET.INITIAL_AGE) : 0n;
    const swrNs = mask & WRITE.SWR ? u64(OFFSET.SWR) : 0n;
    let varyRule: string[] = [];
    if (mask & WRITE.VARY_RULE) {
      let text: string;
      try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(
          m.read(m.u32(ptr + OFFSET.VARY_PTR), m.u32(ptr + OFFSET.VARY_LEN)),
        );
      } catch {
        throw new HostcallError(Status.ERROR, "vary rule is not UTF-8");
      }
      const names = text.split(" ");
      // Viceroy parses each space-separated name as an http::HeaderName (an empty one fails): ERROR.
      if (names.some((name) => !HEADER_NAME.test(name)))
        throw new HostcallError(Status.ERROR, `invalid header name in vary rule ${JSON.stringify(text)}`);
      varyRule = [...new Set(names.map((name) => name.toLowerCase()))].sort();
    }
    const userMetadata =
      mask & WRITE.USER_METADATA ? m.read(m.u32(ptr + OFFSET.UM_PTR), m.u32(ptr + OFFSET.UM_LEN)) : new Uint8Array(0);
    const length = mask & WRITE.LENGTH ? u64(OFFSET.LENGTH) : null;
    if (mask & WRITE.SERVICE_ID)
      throw new HostcallError(Status.UNSUPPORTED, "cache on_behalf_of is not supported (as in Viceroy)");
    const edgeMaxAgeNs = mask & WRITE.EDGE_MAX_AGE ? u64(OFFSET.EDGE_MAX_AGE) : maxAgeNs;
    if (edgeMaxAgeNs > maxAgeNs) throw new HostcallError(Status.INVAL, "edge_max_age exceeds max_age");
    const surrogateKeys =
      mask & WRITE.SURROGATE_KEYS
        ? parseSurrogateKeys(m.read(m.u32(ptr + OFFSET.SK_PTR), m.u32(ptr + OFFSET.SK_LEN)))
        : [];
    const known =
      WRITE.VARY_RULE |
      WRITE.INITIAL_AGE |
      WRITE.SWR |
      WRITE.SURROGATE_KEYS |
      WRITE.LENGTH |
      WRITE.USER_METADATA |
      WRITE.SENSITIVE |
      WRITE.EDGE_MAX_AGE;
    if (mask & ~known) throw new HostcallError(Status.UNSUPPORTED, "unknown cache write option");
    // sensitive_data and edge_max_age have no effect and cannot be read back (Viceroy ignores them too).
    return { maxAgeNs, initialAgeNs, swrNs, varyRule, userMetadata, length, surrogateKeys };
  }

  /** Transactional writes take their request headers from the lookup: the mask bit is INVAL (Viceroy). */
  function transactionWriteOptions(mask: number, ptr: number): CoreWriteOptions {
    if (mask & WRITE.REQUEST_HEADERS)
      throw new HostcallError(Status.INVAL, "request headers belong to the transaction's lookup");
    return writeOptions(mask, ptr);
  }

  function addHandle(result: CoreLookupResult, key: string, alwaysUseRequestedRange: boolean): number {
    return ctx.resources.add({
      kind: "core-cache",
      waitId: null,
      key,
      found: result.found,
      obligation: result.obligation,
      alwaysUseRequestedRange,
      lastBody: null,
    });
  }

  /** The handle once its lookup is complete (Viceroy awaits the PendingCacheTask on every use). */
  function entry(handle: number): CoreCacheResource {
    const resource = ctx.resources.get(handle, "core-cache");
    if (resource.waitId !== null) {
      const result = ctx.rpc.call("core.awaitLookup", { waitId: resource.waitId });
      resource.waitId = null;
      resource.found = result.found;
      resource.obligation = result.obligation;
    }
    return resource;
  }

  function found(handle: number): CoreFound {
    const seen = entry(handle).found;
    // Viceroy: CacheError::Missing → NONE.
    if (seen === null) throw new HostcallError(Status.NONE, "no cached object found");
    return seen;
  }

  function ageNs(seen: CoreFound): bigint {
    return seen.initialAgeNs + BigInt(Math.max(0, Math.round(now() - seen.insertedMs))) * NS_PER_MS;
  }

  /** The body the guest writes into; every write reaches the shared object at once, readers stream it. */
  function insertionBody(streamId: number): number {
    const body = new Body();
    body.sink = {
      write: (data) => void ctx.rpc.call("core.write", { streamId, data }),
      close: (failure) => void ctx.rpc.call("core.finish", { streamId, failed: failure !== null }),
    };
    return ctx.resources.add({ kind: "body", body });
  }

  function u64Getter(read: (seen: CoreFound) => bigint | number | null) {
    return (handle: number, out: number) => {
      const value = read(found(handle));
      if (value === null) throw new HostcallError(Status.NONE, "not known");
      m.setU64(out, value);
    };
  }

  function insertAndStreamBack(
    handle: number,
    mask: number,
    optionsPtr: number,
  ): { bodyHandle: number; cacheHandle: number } {
    const options = transactionWriteOptions(mask, optionsPtr);
    const resource = entry(handle);
    // Viceroy: no obligation → CacheError::NotRevalidatable → BADF.
    if (resource.obligation === null)
      throw new HostcallError(Status.BADF, "this cache handle holds no obligation to insert");
    const { streamId, found: inserted } = ctx.rpc.call("core.transactionInsert", {
      requestId: ctx.requestId,
      obligation: resource.obligation,
      options,
    });
    resource.obligation = null;
    const bodyHandle = insertionBody(streamId);
    const cacheHandle = addHandle(
      { found: inserted, obligation: null },
      resource.key,
      resource.alwaysUseRequestedRange,
    );
    return { bodyHandle, cacheHandle };
  }

  return {
    lookup(keyPtr, keyLen, mask, optionsPtr, handleOut) {
      const { headers, alwaysUseRequestedRange } = lookupOptions(mask, optionsPtr);
      const key = readKey(keyPtr, keyLen);
      const result = ctx.rpc.call("core.lookup", { requestId: ctx.requestId, key, headers });
      m.setU32(handleOut, addHandle(result, key, alwaysUseRequestedRange));
    },
    insert(keyPtr, keyLen, mask, optionsPtr, bodyOut) {
      const key = readKey(keyPtr, keyLen);
      const headers = mask & WRITE.REQUEST_HEADERS ? requestHeaders(m.u32(optionsPtr + OFFSET.REQUEST_HEADERS)) : [];
      const options = writeOptions(mask & ~WRITE.REQUEST_HEADERS, optionsPtr);
      const { streamId } = ctx.rpc.call("core.insert", { requestId: ctx.requestId, key, headers, options });
      m.setU32(bodyOut, insertionBody(streamId));
    },
    transaction_lookup(keyPtr, keyLen, mask, optionsPtr, handleOut) {
      const { headers, alwaysUseRequestedRange } = lookupOptions(mask, optionsPtr);
      const key = readKey(keyPtr, keyLen);
      // Blocks while another transaction holds the obligation for this variant (request collapsing).
      const result = ctx.rpc.call("core.transactionLookup", { requestId: ctx.requestId, key, headers });
      m.setU32(handleOut, addHandle(result, key, alwaysUseRequestedRange));
    },
    transaction_lookup_async(keyPtr, keyLen, mask, optionsPtr, busyOut) {
      const { headers, alwaysUseRequestedRange } = lookupOptions(mask, optionsPtr);
      const key = readKey(keyPtr, keyLen);
      const outcome = ctx.rpc.call("core.transactionLookupAsync", { requestId: ctx.requestId, key, headers });
      if ("ready" in outcome) {
        m.setU32(busyOut, addHandle(outcome.ready, key, alwaysUseRequestedRange));
      } else {
        m.setU32(
          busyOut,
          ctx.resources.add({
            kind: "core-cache",
            waitId: outcome.waitId,
            key,
            found: null,
            obligation: null,
            alwaysUseRequestedRange,
            lastBody: null,
          }),
        );
      }
    },
    cache_busy_handle_wait(busyHandle, handleOut) {
      // Viceroy swaps the busy handle's entry for a stub (so close_busy after this drops nothing) and hands the
      // completed lookup out under a new handle.
      const busy = entry(busyHandle);
      const result = { found: busy.found, obligation: busy.obligation };
      busy.found = null;
      busy.obligation = null;
      m.setU32(handleOut, addHandle(result, busy.key, busy.alwaysUseRequestedRange));
    },
    transaction_insert(handle, mask, optionsPtr, bodyOut) {
      const { bodyHandle, cacheHandle } = insertAndStreamBack(handle, mask, optionsPtr);
      ctx.resources.delete(cacheHandle);
      m.setU32(bodyOut, bodyHandle);
    },
    transaction_insert_and_stream_back(handle, mask, optionsPtr, bodyOut, handleOut) {
      const { bodyHandle, cacheHandle } = insertAndStreamBack(handle, mask, optionsPtr);
      m.setU32(bodyOut, bodyHandle);
      m.setU32(handleOut, cacheHandle);
    },
    transaction_update(handle, mask, optionsPtr) {
      const options = transactionWriteOptions(mask, optionsPtr);
      const resource = entry(handle);
      if (resource.obligation === null)
        throw new HostcallError(Status.BADF, "this cache handle holds no obligation to update");
      // Viceroy: nothing found at lookup → NotRevalidatable (BADF), and the obligation stays.
      if (!ctx.rpc.call("core.transactionUpdate", { obligation: resource.obligation, options })) {
        throw new HostcallError(Status.BADF, "no cached object to update");
      }
      resource.obligation = null;
    },
    transaction_cancel(handle) {
      const resource = entry(handle);
      // Viceroy: cancel without an obligation → CacheError::CannotWrite → BADF.
      if (resource.obligation === null)
        throw new HostcallError(Status.BADF, "this cache handle holds no obligation to cancel");
      ctx.rpc.call("core.release", { obligation: resource.obligation });
      resource.obligation = null;
    },
    close_busy(busyHandle) {
      // Viceroy drops the lookup without waiting for it; an obligation it got goes with it.
      const resource = ctx.resources.take(busyHandle, "core-cache");
      if (resource.waitId !== null) ctx.rpc.call("core.dropLookup", { waitId: resource.waitId });
      else if (resource.obligation !== null) ctx.rpc.call("core.release", { obligation: resource.obligation });
    },
    close(handle) {
      // Viceroy waits for the lookup to complete, then drops it (an obligation not fulfilled is given up).
      const resource = entry(handle);
      ctx.resources.delete(handle);
      if (resource.obligation !== null) ctx.rpc.call("core.release", { obligation: resource.obligation });
    },
    get_state(handle, stateOut) {
      const resource = entry(handle);
      let state = 0;
      const seen = resource.found;
      if (seen !== null) {
        // Viceroy: FOUND only with USABLE (fresh, or within stale-while-revalidate); STALE when not fresh.
        const age = ageNs(seen);
        if (age < seen.maxAgeNs + seen.swrNs) {
          state |= STATE.FOUND | STATE.USABLE;
          if (seen.softPurged || age >= seen.maxAgeNs) state |= STATE.STALE;
        }
      }
      if (resource.obligation !== null) state |= STATE.MUST_INSERT_OR_UPDATE;
      // js-compute reads a u8 here (fastly.h), the witx says u32 flags: every flag fits in the first byte.
      m.setU8(stateOut, state);
    },
    get_user_metadata(handle, ptr, len, nwrittenOut) {
      m.writeFitting(found(handle).userMetadata, ptr, len, nwrittenOut);
    },
    get_body(handle, mask, optionsPtr, bodyOut) {
      const from = mask & GET_BODY.FROM ? m.u64(optionsPtr) : null;
      const to = mask & GET_BODY.TO ? m.u64(optionsPtr + 8) : null;
      if (mask & ~(GET_BODY.FROM | GET_BODY.TO))
        throw new HostcallError(Status.UNSUPPORTED, "unknown cache get_body option");
      const resource = entry(handle);
      const seen = found(handle);
      // Viceroy: one body at a time per handle (CacheError::HandleBodyUsed → BADF).
      if (resource.lastBody !== null && ctx.resources.peek(resource.lastBody)?.kind === "body") {
        throw new HostcallError(Status.BADF, "the previous body of this cache handle is still open");
      }
      const range = ctx.rpc.call("core.bodyRange", {
        streamId: seen.streamId,
        from,
        to,
        length: seen.length,
        alwaysUseRequestedRange: resource.alwaysUseRequestedRange,
      });
      const body = new Body();
      if (range.finished !== null) {
        // A finished object: its bytes came with the range, so reads never go back to the main thread.
        body.push(range.finished.data);
        if (range.finished.failed) body.failure = UNFINISHED_CACHED_BODY;
      } else {
        let offset = range.start;
        const streamId = seen.streamId;
        body.source = {
          pull: () => {
            const chunk = ctx.rpc.call("core.read", { streamId, offset, end: range.end });
            offset += chunk.data.length;
            return chunk;
          },
          wait: () => ({ streamId, offset, end: range.end }),
        };
      }
      const bodyHandle = ctx.resources.add({ kind: "body", body });
      resource.lastBody = bodyHandle;
      m.setU32(bodyOut, bodyHandle);
    },
    get_length: u64Getter((seen) => seen.length),
    get_max_age_ns: u64Getter((seen) => seen.maxAgeNs),
    get_age_ns: u64Getter((seen) => ageNs(seen)),
    // Viceroy answers UNSUPPORTED for these two; production answers them, and so does this host (README).
    get_stale_while_revalidate_ns: u64Getter((seen) => seen.swrNs),
    get_hits: u64Getter((seen) => seen.hits),
  };
}

/** Viceroy `SurrogateKeySet::try_from`: space-separated, empty items skipped; INVAL past the limits. */
function parseSurrogateKeys(bytes: Uint8Array): string[] {
  if (bytes.length > MAX_SURROGATE_KEYS_LENGTH)
    throw new HostcallError(Status.INVAL, "surrogate key set exceeds maximum length (16Ki)");
  const keys = Buffer.from(bytes)
    .toString("latin1")
    .split(" ")
    .filter((key) => key !== "");
  for (const key of keys) checkSurrogateKey(key);
  return [...new Set(keys)];
}

function checkSurrogateKey(key: string): void {
  if (key.length > MAX_SURROGATE_KEY_LENGTH)
    throw new HostcallError(Status.INVAL, "surrogate key exceeds maximum length (1024)");
  if (!/^[\x21-\x7e]*$/.test(key))
    throw new HostcallError(Status.INVAL, "surrogate key contains characters other than graphical ASCII");
}

/** `fastly_purge` (Viceroy `fastly_purge_impl.rs`): purges the Core Cache by surrogate key, soft or hard. */
export function purgeHostcalls(ctx: GuestContext): HostcallModule {
  return {
    purge_surrogate_key(keyPtr, keyLen, mask, _optionsPtr) {
      // Viceroy: only soft_purge is supported; ret_buf (the JSON purge answer) is UNSUPPORTED.
      if (mask & ~PURGE.SOFT) throw new HostcallError(Status.UNSUPPORTED, "unsupported purge option");
      const key = ctx.mem.string(keyPtr, keyLen);
      checkSurrogateKey(key);
      ctx.rpc.call("core.purge", { surrogateKey: key, soft: (mask & PURGE.SOFT) !== 0 });
    },
  };
}
