/**
 * The shared in-memory HTTP cache behind "memory" mode, in the main thread: one stored response per cache key (with
 * the request header values its Vary rule names), freshness by the guest's clock, and transactions that collapse
 * concurrent misses — one lookup gets the obligation to insert or update, the others wait for its outcome (insert:
 * they get the new response; abandon: the next one takes the obligation; not cacheable: all go to the backend).
 * Obligations of a request that ends are released, so a waiter never waits on an instance that is gone.
 */
import type { HeaderList } from "./host-protocol.ts";
import {
  type CacheLookupResult,
  CacheState,
  type CacheWriteOptions,
  type StoredResponseHead,
} from "./http-cache-types.ts";

const NS_PER_MS = 1_000_000;

interface StoredEntry {
  readonly head: StoredResponseHead;
  readonly body: Uint8Array;
  readonly options: CacheWriteOptions;
  readonly storedAtMs: number;
  readonly varyValues: string | null;
  hits: number;
}

/** A hit-for-pass record: lookups bypass the cache (no obligation) until it expires. */
interface NotCacheable {
  readonly untilMs: number;
}

interface Transaction {
  readonly key: string;
  readonly ownerRequestId: number;
  /** The looked-up request's headers: the inserted response's Vary rule picks its variant from them. */
  readonly requestHeaders: HeaderList;
}

export class MemoryHttpCache {
  private readonly entries = new Map<string, StoredEntry | NotCacheable>();
  /** Key → the transaction holding its obligation, and the lookups waiting for it. */
  private readonly inflight = new Map<string, { txnId: number; waiters: Array<() => void> }>();
  private readonly transactions = new Map<number, Transaction>();
  private nextTxn = 1;

  constructor(private readonly now: () => number) {}

  async lookup(requestId: number, key: string, requestHeaders: HeaderList): Promise<CacheLookupResult> {
    for (;;) {
      const stored = this.entries.get(key);
      if (stored !== undefined && "untilMs" in stored) {
        if (this.now() < stored.untilMs) return { state: 0, found: null, txnId: null };
        this.entries.delete(key);
        continue;
      }
      const entry =
        stored !== undefined && stored.varyValues === varyValues(stored.options.varyRule, requestHeaders)
          ? stored
          : undefined;
      if (entry !== undefined) {
        const ageNs = entry.options.initialAgeNs + (this.now() - entry.storedAtMs) * NS_PER_MS;
        const { maxAgeNs, swrNs, sieNs } = entry.options;
        if (ageNs < maxAgeNs) return this.hit(entry, ageNs, CacheState.FOUND | CacheState.USABLE, null);
        if (ageNs < maxAgeNs + swrNs) {
          // Stale while revalidating: usable now; the first lookup also gets to revalidate.
          const txnId = this.inflight.has(key) ? null : this.begin(key, requestId, requestHeaders);
          return this.hit(
            entry,
            ageNs,
            CacheState.FOUND |
              CacheState.USABLE |
              CacheState.STALE |
              (txnId === null ? 0 : CacheState.MUST_INSERT_OR_UPDATE),
            txnId,
          );
        }
        if (!this.inflight.has(key)) {
          const txnId = this.begin(key, requestId, requestHeaders);
          const ifError = ageNs < maxAgeNs + sieNs ? CacheState.USABLE_IF_ERROR : 0;
          return this.hit(
            entry,
            ageNs,
            CacheState.FOUND | CacheState.STALE | CacheState.MUST_INSERT_OR_UPDATE | ifError,
            txnId,
            false,
          );
        }
      } else if (!this.inflight.has(key)) {
        const txnId = this.begin(key, requestId, requestHeaders);
        return { state: CacheState.MUST_INSERT_OR_UPDATE, found: null, txnId };
      }
      // Collapse onto the transaction in flight, then look again.
      await new Promise<void>((wake) => this.inflight.get(key)!.waiters.push(wake));
    }
  }

  insert(txnId: number, head: StoredResponseHead, options: CacheWriteOptions, body: Uint8Array): void {
    const txn = this.finish(txnId);
    if (txn === undefined) return;
    this.entries.set(txn.key, {
      head,
      body,
      options,
      storedAtMs: this.now(),
      varyValues: varyValues(options.varyRule, txn.requestHeaders),
      hits: 0,
    });
    this.wake(txn.key);
  }

  /** New headers and freshness for the stored body (a revalidation); answers a lookup of the updated entry. */
  update(txnId: number, head: StoredResponseHead, options: CacheWriteOptions): CacheLookupResult {
    const txn = this.finish(txnId);
    const stored = txn === undefined ? undefined : this.entries.get(txn.key);
    if (txn === undefined || stored === undefined || "untilMs" in stored)
      throw new Error("no stored response to update");
    const updated: StoredEntry = {
      head,
      body: stored.body,
      options,
      storedAtMs: this.now(),
      varyValues: stored.varyValues,
      hits: stored.hits,
    };
    this.entries.set(txn.key, updated);
    this.wake(txn.key);
    return this.hit(updated, options.initialAgeNs, CacheState.FOUND | CacheState.USABLE, null, false);
  }

  recordNotCacheable(txnId: number, maxAgeNs: number): void {
    const txn = this.finish(txnId);
    if (txn === undefined) return;
    this.entries.set(txn.key, { untilMs: this.now() + maxAgeNs / NS_PER_MS });
    this.wake(txn.key);
  }

  /** Abandon, close or choose_stale: the obligation passes to a waiter (if any). */
  release(txnId: number): void {
    const txn = this.finish(txnId);
    if (txn !== undefined) this.wake(txn.key);
  }

  /** Every obligation a finished request still held. */
  releaseOwner(requestId: number): void {
    for (const [txnId, txn] of this.transactions) if (txn.ownerRequestId === requestId) this.release(txnId);
  }

  /** Host caching (send_async with a CacheOverride): a fresh stored response, or nothing. */
  fresh(key: string): { head: StoredResponseHead; body: Uint8Array } | null {
    const entry = this.entries.get(key);
    if (entry === undefined || "untilMs" in entry) return null;
    const ageNs = entry.options.initialAgeNs + (this.now() - entry.storedAtMs) * NS_PER_MS;
    if (ageNs >= entry.options.maxAgeNs) return null;
    entry.hits++;
    return { head: entry.head, body: entry.body };
  }

  /** Host caching: stores a backend response directly (no transaction). */
  store(key: string, head: StoredResponseHead, options: CacheWriteOptions, body: Uint8Array): void {
    this.entries.set(key, { head, body, options, storedAtMs: this.now(), varyValues: null, hits: 0 });
  }

  clear(): void {
    this.entries.clear();
  }

  private hit(entry: StoredEntry, ageNs: number, state: number, txnId: number | null, count = true): CacheLookupResult {
    if (count) entry.hits++;
    return {
      state,
      found: { head: entry.head, body: entry.body, options: entry.options, ageNs, hits: entry.hits },
      txnId,
    };
  }

  private begin(key: string, ownerRequestId: number, requestHeaders: HeaderList): number {
    const txnId = this.nextTxn++;
    this.transactions.set(txnId, { key, ownerRequestId, requestHeaders });
    this.inflight.set(key, { txnId, waiters: this.inflight.get(key)?.waiters ?? [] });
    return txnId;
  }

  private finish(txnId: number): Transaction | undefined {
    const txn = this.transactions.get(txnId);
    if (txn === undefined) return undefined;
    this.transactions.delete(txnId);
    return txn;
  }

  private wake(key: string): void {
    const flight = this.inflight.get(key);
    this.inflight.delete(key);
    for (const wake of flight?.waiters ?? []) wake();
  }
}

/** The request's values of the headers a Vary rule names, as one comparable string. */
function varyValues(varyRule: string | null, headers: HeaderList): string | null {
  if (varyRule === null || varyRule === "") return null;
  return varyRule
    .split(" ")
    .map(
      (name) =>
        `${name}:${headers
          .filter(([n]) => n === name)
          .map(([, v]) => v)
          .join(",")}`,
    )
    .join("\n");
}
