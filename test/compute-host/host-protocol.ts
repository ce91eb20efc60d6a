/**
 * Messages between the main thread (server, backends, stores, shared HTTP cache) and a guest worker (one wasm
 * instance at a time). Control messages travel on the worker's parentPort; synchronous hostcalls that need the main
 * thread use the RPC channel of host-rpc.ts and the `HostMethods` below.
 */

import type { MessagePort } from "node:worker_threads";
import type { BodyChunk, CoreAsyncLookup, CoreFound, CoreLookupResult, CoreWriteOptions } from "./core-cache.ts";
import type { SendErrorTagName, StatusCode } from "./fastly-status.ts";
import type { CacheLookupResult, CacheWriteOptions, StoredResponseHead } from "./http-cache-types.ts";

export type HttpCacheMode = "unsupported" | "memory";

/** Header lists keep order and repeats; names are lowercase, values latin1 strings (bytes). */
export type HeaderList = Array<[string, string]>;

export interface WorkerInit {
  readonly type: "init";
  readonly module: WebAssembly.Module;
  readonly backendNames: readonly string[];
  readonly httpCache: HttpCacheMode;
  readonly rpcPort: MessagePort;
  readonly replyPort: MessagePort;
  readonly signal: SharedArrayBuffer;
  readonly trace: boolean;
}

export interface DownstreamRequest {
  readonly method: string;
  /** Absolute, `http://host:port/path?query`, as Viceroy hands the guest. */
  readonly url: string;
  readonly headers: HeaderList;
  readonly body: Uint8Array;
  readonly clientAddress: string;
}

export interface RunJob {
  readonly type: "run";
  readonly requestId: number;
  readonly downstream: DownstreamRequest;
  /** options.clock() − Date.now(), computed in the main thread for this request: the guest's realtime offset. */
  readonly clockOffsetMs: number;
  /**
   * The Config Stores as they are when the request starts. Compute reads a Config Store from the POP's memory, a
   * hostcall costing microseconds; asking the main thread for each key cost ~45 µs of the request's CPU here, 8 times
   * for the service's settings. A change made between requests applies from the next one, as a Config Store update
   * reaches Compute for requests after it.
   */
  readonly configStores: ReadonlyMap<string, ReadonlyMap<string, string>>;
}

export type MainToWorker = WorkerInit | RunJob;

/** A request handed to an instance that asked for its next one (a reusable sandbox's next_request_wait). */
export type NextJob = Omit<RunJob, "type">;

export interface RequestTiming {
  readonly path: string;
  /** 0 for a request an instance took after an earlier one (a reusable sandbox). */
  readonly instantiateMs: number;
  /** Which request of its instance this was: 1 for a fresh instance, 2 and on for a reused sandbox. */
  readonly instanceRequest: number;
  /**
   * `_start`'s share for this request: all of `_start` for an instance that handles one request; for a reusable
   * sandbox, from the moment it has the request (`_start` began, or next_request_wait answered) to the moment it asks
   * for the next one (next_request_wait) or `_start` ends.
   */
  readonly startWallMs: number;
  /** CPU time of the worker thread in that span (from /proc/thread-self/schedstat); null where unreadable. */
  readonly startCpuMs: number | null;
  /** Time the guest spent blocked on hostcalls answered by the main thread (backends, stores, cache). */
  readonly hostWaitMs: number;
}

export type WorkerToMain =
  | { readonly type: "ready" }
  | { readonly type: "log"; readonly line: string }
  /** One entry for a named log endpoint (fastly_log.write), without its newline. */
  | { readonly type: "log-entry"; readonly endpoint: string; readonly entry: Uint8Array }
  | {
      readonly type: "response";
      readonly requestId: number;
      readonly status: number;
      readonly headers: HeaderList;
      readonly body: Uint8Array;
      /** More body follows as `chunk` messages until `end` (send_downstream with streaming = 1). */
      readonly streaming: boolean;
      /** The body broke off (e.g. a truncated backend body passed through): cut the connection after `body`. */
      readonly broken: boolean;
    }
  | { readonly type: "chunk"; readonly requestId: number; readonly data: Uint8Array }
  | { readonly type: "end"; readonly requestId: number; readonly broken: boolean }
  | {
      readonly type: "done";
      readonly requestId: number;
      readonly failure: string | null;
      readonly timing: RequestTiming;
    }
  /** `_start` has ended: the instance is gone, and the worker can run another. */
  | { readonly type: "exited" };

/** A backend request as the guest built it (send_async*). */
export interface BackendSend {
  readonly requestId: number;
  readonly backend: string;
  readonly method: string;
  readonly uri: string;
  readonly headers: HeaderList;
  readonly body: Uint8Array;
  readonly autoDecompressGzip: boolean;
  /** Host caching (send_async/send_async_streaming) may use the cache; send_async_v2 never does. */
  readonly hostCaching: boolean;
  readonly cacheOverride: CacheOverride | null;
}

export interface CacheOverride {
  readonly pass: boolean;
  readonly ttlSeconds: number | null;
  readonly swrSeconds: number | null;
  readonly pci: boolean;
  readonly surrogateKey: string | null;
}

/** A failed body: what `http_body.read` answers once the bytes before the failure are read. */
export interface BodyFailure {
  readonly status: StatusCode;
  readonly message: string;
}

export interface BackendResponse {
  readonly status: number;
  readonly headers: HeaderList;
  readonly body: Uint8Array;
  readonly bodyFailure: BodyFailure | null;
  /** What `known_length` reports (Content-Length of a body not decompressed), else null. */
  readonly knownLength: number | null;
}

export type PendingOutcome =
  | { readonly ok: true; readonly response: BackendResponse }
  | { readonly ok: false; readonly status: StatusCode; readonly detail: SendErrorTagName; readonly message: string };

export interface KvValue {
  readonly body: Uint8Array;
  readonly metadata: string;
}

/** Something `async_io.select` waits on in the main thread: a backend request, cached bytes, a busy cache lookup. */
export type SelectWait =
  | { readonly pendingId: number }
  | { readonly streamId: number; readonly offset: number; readonly end: number | null }
  | { readonly waitId: number };

/** Hostcalls that need the main thread: name → argument and result. */
export interface HostMethods {
  "backend.send": { arg: BackendSend; result: { pendingId: number } };
  "pending.wait": { arg: { pendingId: number }; result: PendingOutcome };
  "pending.isDone": { arg: { pendingId: number }; result: boolean };
  /** Items are waits, or null for items ready at once; answers the first ready index or 0xFFFFFFFF on timeout. */
  select: { arg: { items: Array<SelectWait | null>; timeoutMs: number }; result: number };
  /** Whether a wait is over (async_io.is_ready). */
  ready: { arg: SelectWait; result: boolean };
  "kv.exists": { arg: { store: string }; result: boolean };
  "kv.get": { arg: { store: string; key: string }; result: KvValue | null };
  "cache.lookup": { arg: { requestId: number; key: string; requestHeaders: HeaderList }; result: CacheLookupResult };
  "cache.insert": {
    arg: { txnId: number; head: StoredResponseHead; options: CacheWriteOptions; body: Uint8Array };
    result: null;
  };
  "cache.update": {
    arg: { txnId: number; head: StoredResponseHead; options: CacheWriteOptions };
    result: CacheLookupResult;
  };
  "cache.recordNotCacheable": { arg: { txnId: number; maxAgeNs: number; varyRule: string | null }; result: null };
  /** Gives up an obligation (abandon, close, choose_stale): a collapsed waiter takes over. */
  "cache.release": { arg: { txnId: number }; result: null };
  /** The Core Cache (core-cache.ts); keys are the guest's key bytes as hex. */
  "core.lookup": { arg: { requestId: number; key: string; headers: HeaderList }; result: CoreLookupResult };
  "core.transactionLookup": { arg: { requestId: number; key: string; headers: HeaderList }; result: CoreLookupResult };
  "core.transactionLookupAsync": {
    arg: { requestId: number; key: string; headers: HeaderList };
    result: CoreAsyncLookup;
  };
  "core.awaitLookup": { arg: { waitId: number }; result: CoreLookupResult };
  "core.dropLookup": { arg: { waitId: number }; result: null };
  "core.insert": {
    arg: { requestId: number; key: string; headers: HeaderList; options: CoreWriteOptions };
    result: { streamId: number };
  };
  "core.transactionInsert": {
    arg: { requestId: number; obligation: number; options: CoreWriteOptions };
    result: { streamId: number; found: CoreFound };
  };
  /** False (obligation kept) when the lookup found nothing to update. */
  "core.transactionUpdate": { arg: { obligation: number; options: CoreWriteOptions }; result: boolean };
  "core.release": { arg: { obligation: number }; result: null };
  "core.write": { arg: { streamId: number; data: Uint8Array }; result: null };
  "core.finish": { arg: { streamId: number; failed: boolean }; result: null };
  "core.bodyRange": {
    arg: {
      streamId: number;
      from: bigint | null;
      to: bigint | null;
      length: bigint | null;
      alwaysUseRequestedRange: boolean;
    };
    /** `finished`: the range's bytes when the body had finished (nothing more to read), else null. */
    result: { start: number; end: number | null; finished: BodyChunk | null };
  };
  "core.read": { arg: { streamId: number; offset: number; end: number | null }; result: BodyChunk };
  "core.purge": { arg: { surrogateKey: string; soft: boolean }; result: number };
  /**
   * A reusable sandbox waits for its next request (next_request_wait): the next one queued for this worker, or null
   * once `timeoutMs` has passed without one (the instance then ends).
   */
  "downstream.next": { arg: { timeoutMs: number }; result: NextJob | null };
}

export type HostMethodName = keyof HostMethods;

export type RpcRequest = { readonly method: HostMethodName; readonly arg: unknown };
export type RpcReply = { readonly result: unknown } | { readonly error: string };
