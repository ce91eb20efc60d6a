/**
 * What every hostcall implementation of one running instance shares. The request's own fields change when a reusable
 * sandbox takes its next request (hostcalls-http-downstream.ts), so hostcalls read them from here as they run.
 */
import type { GuestMemory } from "./guest-memory.ts";
import type { ResourceTable } from "./guest-resources.ts";
import type { DownstreamRequest, HttpCacheMode, WorkerToMain } from "./host-protocol.ts";
import type { HostRpcClient } from "./host-rpc.ts";

export interface GuestContext {
  readonly mem: GuestMemory;
  readonly rpc: HostRpcClient;
  readonly resources: ResourceTable;
  requestId: number;
  readonly httpCache: HttpCacheMode;
  readonly backendNames: ReadonlySet<string>;
  clockOffsetMs: number;
  /** The Config Stores as the request found them (RunJob.configStores). */
  configStores: ReadonlyMap<string, ReadonlyMap<string, string>>;
  downstream: DownstreamRequest;
  /** Handles of the downstream request and its body (body_downstream_get). */
  downstreamHandles: { readonly request: number; readonly body: number };
  /** Set once send_downstream has run: a second one is an error, and "ended without a response" is not. */
  responseSent: boolean;
  /** An open streaming downstream body, which must be closed before the instance ends. */
  streamingOpen: boolean;
  /** `transfer`: buffers moved to the main thread with the message (unusable here afterwards). */
  post(message: WorkerToMain, transfer?: ArrayBuffer[]): void;
}

/** A hostcall implementation: wasm arguments in (i32 as number), status by return or HostcallError. */
export type HostcallImpl = (...args: number[]) => void;
export type HostcallModule = Record<string, HostcallImpl>;
