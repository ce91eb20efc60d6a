/**
 * The per-instance resources the guest refers to by handle: requests, responses, bodies, pending backend requests,
 * store handles, KV lookups, HTTP cache transactions. One numbering for all kinds, from 1 (so a zeroed out-param is
 * never mistaken for a handle), because `async_io.select` mixes kinds in one list.
 */

import type { CoreFound } from "./core-cache.ts";
import { HostcallError, Status } from "./fastly-status.ts";
import type { Body } from "./guest-body.ts";
import type { BodyFailure, CacheOverride, HeaderList, KvValue } from "./host-protocol.ts";
import type { CacheWriteOptions, StoredResponseHead } from "./http-cache-types.ts";

export class Headers {
  constructor(public list: HeaderList = []) {}
  names(): string[] {
    return [...new Set(this.list.map(([name]) => name))];
  }
  values(name: string): string[] {
    return this.list.filter(([n]) => n === name).map(([, v]) => v);
  }
  has(name: string): boolean {
    return this.list.some(([n]) => n === name);
  }
  insert(name: string, value: string): void {
    const index = this.list.findIndex(([n]) => n === name);
    this.list = this.list.filter(([n]) => n !== name);
    this.list.splice(index === -1 ? this.list.length : index, 0, [name, value]);
  }
  append(name: string, value: string): void {
    this.list.push([name, value]);
  }
  /** False when absent (the caller answers INVAL, as Viceroy does). */
  remove(name: string): boolean {
    const before = this.list.length;
    this.list = this.list.filter(([n]) => n !== name);
    return this.list.length !== before;
  }
  copy(): Headers {
    return new Headers(this.list.map(([n, v]) => [n, v]));
  }
}

export interface RequestResource {
  readonly kind: "request";
  method: string;
  uri: string;
  headers: Headers;
  version: number;
  autoDecompressGzip: boolean;
  cacheOverride: CacheOverride | null;
}

export interface ResponseResource {
  readonly kind: "response";
  status: number;
  headers: Headers;
  version: number;
}

export interface BodyResource {
  readonly kind: "body";
  readonly body: Body;
}

export interface PendingResource {
  readonly kind: "pending";
  readonly pendingId: number;
}

export interface KvStoreResource {
  readonly kind: "kv-store";
  readonly name: string;
}

export interface ConfigStoreResource {
  readonly kind: "config-store";
  readonly name: string;
}

export interface KvLookupResource {
  readonly kind: "kv-lookup";
  readonly value: KvValue | null;
  readonly failure: BodyFailure | null;
}

/** One HTTP cache handle: what its lookup saw, and what the guest did with it since. */
export interface HttpCacheResource {
  readonly kind: "http-cache";
  /** `CacheState` flags as the lookup saw them (get_state answers these, even after abandon). */
  state: number;
  found: FoundResponse | null;
  /** The transaction whose obligation (insert or update) this handle still holds. */
  obligation: number | null;
  /** The looked-up request: the suggested backend request copies it. Null for handles made by insert/update. */
  readonly request: { method: string; uri: string; headers: Headers } | null;
}

/** A response a cache handle can hand out (stored, or being inserted by this instance). */
export interface FoundResponse {
  readonly head: StoredResponseHead;
  readonly options: CacheWriteOptions;
  readonly ageNs: number;
  readonly hits: number;
  /** A fresh body with the stored bytes; throws when the bytes are not all there yet. */
  body(): Body;
}

/**
 * A Core Cache handle (Viceroy's PendingCacheTask: cache handles and busy handles share one table). `waitId` is set
 * while a transaction_lookup_async waits for another transaction; every use but close_busy waits for it first.
 */
export interface CoreCacheResource {
  readonly kind: "core-cache";
  waitId: number | null;
  /** Hex of the key bytes (kept for busy handles, which Viceroy swaps for a stub with the key only). */
  readonly key: string;
  found: CoreFound | null;
  /** The obligation (to insert or update) this handle holds. */
  obligation: number | null;
  readonly alwaysUseRequestedRange: boolean;
  /** The body handle get_body last gave: a second one while it is open is BADF (Viceroy HandleBodyUsed). */
  lastBody: number | null;
}

/** A reusable sandbox's promise of its next request (fastly_http_downstream.next_request). */
export interface NextRequestResource {
  readonly kind: "next-request";
  readonly timeoutMs: number;
}

/** A named log endpoint (fastly_log.endpoint_get). */
export interface LogEndpointResource {
  readonly kind: "log-endpoint";
  readonly name: string;
}

export type Resource =
  | RequestResource
  | ResponseResource
  | BodyResource
  | PendingResource
  | KvStoreResource
  | ConfigStoreResource
  | KvLookupResource
  | HttpCacheResource
  | CoreCacheResource
  | LogEndpointResource
  | NextRequestResource;

type KindOf<K extends Resource["kind"]> = Extract<Resource, { kind: K }>;

export class ResourceTable {
  private next = 1;
  private readonly items = new Map<number, Resource>();

  add(resource: Resource): number {
    const handle = this.next++;
    this.items.set(handle, resource);
    return handle;
  }

  get<K extends Resource["kind"]>(handle: number, ...kinds: K[]): KindOf<K> {
    const item = this.items.get(handle);
    if (item === undefined || !(kinds as string[]).includes(item.kind)) {
      throw new HostcallError(Status.BADF, `invalid ${kinds.join("/")} handle ${handle}`);
    }
    return item as KindOf<K>;
  }

  peek(handle: number): Resource | undefined {
    return this.items.get(handle);
  }

  take<K extends Resource["kind"]>(handle: number, ...kinds: K[]): KindOf<K> {
    const item = this.get(handle, ...kinds);
    this.items.delete(handle);
    return item;
  }

  delete(handle: number): void {
    this.items.delete(handle);
  }

  body(handle: number): Body {
    return this.get(handle, "body").body;
  }

  all(): IterableIterator<[number, Resource]> {
    return this.items.entries();
  }
}
