/**
 * The Core Cache (`fastly:cache`, cache.witx) in the main thread, shared by every worker and instance: a port of
 * Viceroy's `src/cache.rs` and `src/cache/store.rs`. Per cache key: the vary rules seen (most recent first) and one
 * value per variant — an object present, an obligation outstanding, or both (stale-while-revalidate). Transactions
 * collapse: the first lookup that finds nothing usable gets the obligation; the others wait until the key changes
 * (an insert, or the obligation dropped) and look again. Objects age by the host's clock.
 *
 * Bodies stream as in Viceroy's `CollectingBody`: an object is in the cache from the moment it is inserted, its
 * readers get the bytes as the inserting instance writes them, and a body whose writer ends without closing it (or
 * writes more or fewer bytes than the declared length) ends in error for every reader.
 */
import type { HeaderList } from "./host-protocol.ts";

const NS_PER_MS = 1_000_000n;

export interface CoreWriteOptions {
  readonly maxAgeNs: bigint;
  readonly initialAgeNs: bigint;
  readonly swrNs: bigint;
  /** Canonical: lowercase, deduplicated, sorted (Viceroy's VaryRule). */
  readonly varyRule: readonly string[];
  readonly userMetadata: Uint8Array;
  readonly length: bigint | null;
  readonly surrogateKeys: readonly string[];
}

/** What a handle keeps of a found object: Viceroy clones the object's metadata at lookup time. */
export interface CoreFound {
  readonly streamId: number;
  /** Host-clock milliseconds when inserted; age = initial age + time since. */
  readonly insertedMs: number;
  readonly initialAgeNs: bigint;
  readonly maxAgeNs: bigint;
  readonly swrNs: bigint;
  readonly softPurged: boolean;
  readonly userMetadata: Uint8Array;
  /** The length if known at lookup time (declared, or the body complete). */
  readonly length: bigint | null;
  readonly hits: number;
}

export interface CoreLookupResult {
  readonly found: CoreFound | null;
  /** Set when this lookup holds the obligation to insert or update. */
  readonly obligation: number | null;
}

/** A transaction_lookup_async that had to wait: its id, to await or drop. */
export type CoreAsyncLookup = { readonly ready: CoreLookupResult } | { readonly waitId: number };

export interface BodyChunk {
  readonly data: Uint8Array;
  /** No more bytes will come (the range or the body ended). */
  readonly done: boolean;
  /** The body ended in error (Viceroy: the reader's body is never finished → ERROR). */
  readonly failed: boolean;
}

/** Viceroy's CollectingBody: written by one instance, read (while written) by any. */
class CollectingBody {
  readonly chunks: Uint8Array[] = [];
  size = 0;
  state: "streaming" | "complete" | "error" = "streaming";
  private waiters: Array<() => void> = [];

  constructor(
    readonly id: number,
    readonly expectedLength: bigint | null,
    readonly ownerRequestId: number | null,
  ) {}

  write(data: Uint8Array): void {
    if (this.state !== "streaming") return;
    this.chunks.push(data);
    this.size += data.length;
    if (this.expectedLength !== null && BigInt(this.size) > this.expectedLength) this.state = "error";
    this.wake();
  }

  finish(failed: boolean): void {
    if (this.state !== "streaming") return;
    this.state =
      failed || (this.expectedLength !== null && BigInt(this.size) !== this.expectedLength) ? "error" : "complete";
    this.wake();
  }

  /** Resolves at the next change (bytes, end or error). */
  changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The bytes from `offset` (up to `end`) there are now, and whether they are the last a reader gets. */
  chunkFrom(offset: number, end: number | null): BodyChunk {
    const data = this.slice(offset, end === null ? this.size : Math.min(end, this.size));
    const reachedEnd = end !== null && offset + data.length >= end;
    if (this.state === "streaming" && !reachedEnd) return { data, done: false, failed: false };
    return { data, done: true, failed: !reachedEnd && this.state === "error" };
  }

  /** Bytes [from, to) available now. */
  slice(from: number, to: number): Uint8Array {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    if (this.chunks.length > 1) this.chunks.splice(0, this.chunks.length, all);
    return all.subarray(Math.min(from, all.length), Math.min(to, all.length));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

interface CacheObject {
  readonly insertedMs: number;
  readonly options: CoreWriteOptions;
  readonly requestHeaders: HeaderList;
  readonly body: CollectingBody;
  readonly streamId: number;
  softPurged: boolean;
  hits: number;
}

interface CacheValue {
  present: CacheObject | null;
  obligated: boolean;
}

class KeyObjects {
  /** Vary rules seen for this key, most recently inserted first. */
  varyRules: Array<readonly string[]> = [];
  objects = new Map<string, CacheValue>();
  private waiters: Array<() => void> = [];

  changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

interface Obligation {
  readonly objects: KeyObjects;
  readonly variant: string;
  readonly requestHeaders: HeaderList;
  readonly present: CacheObject | null;
  readonly ownerRequestId: number;
}

interface LookupWait {
  readonly requestId: number;
  readonly promise: Promise<CoreLookupResult>;
  result: CoreLookupResult | undefined;
  dropped: boolean;
}

export class CoreCache {
  private readonly keys = new Map<string, KeyObjects>();
  private readonly obligations = new Map<number, Obligation>();
  private readonly streams = new Map<number, CollectingBody>();
  /** Streams each request may still read or write; a stream no request holds and no cache value keeps is freed. */
  private readonly streamHolders = new Map<number, Set<number>>();
  /** The same, by request: what releaseOwner must look at. */
  private readonly heldBy = new Map<number, Set<number>>();
  private readonly waits = new Map<number, LookupWait>();
  private nextId = 1;

  constructor(private readonly now: () => number) {}

  /** Non-transactional lookup (Viceroy `CacheKeyObjects::get`): the newest variant present, fresh or not. */
  lookup(requestId: number, key: string, headers: HeaderList): CoreLookupResult {
    const objects = this.keys.get(key);
    if (objects === undefined) return { found: null, obligation: null };
    for (const rule of objects.varyRules) {
      const present = objects.objects.get(variantOf(rule, headers))?.present;
      if (present != null) return { found: this.found(requestId, present, true), obligation: null };
    }
    return { found: null, obligation: null };
  }

  /** Viceroy `CacheKeyObjects::transaction_get`; `okToWait` false returns at once (transaction_lookup_async). */
  async transactionLookup(
    requestId: number,
    key: string,
    headers: HeaderList,
    okToWait: boolean,
    wait?: LookupWait,
  ): Promise<CoreLookupResult> {
    for (;;) {
      if (wait?.dropped) return { found: null, obligation: null };
      // Looked up again after every wait: clearCoreCache() may have replaced the key's objects.
      const objects = this.objectsFor(key);
      const variants = objects.varyRules.map((rule) => variantOf(rule, headers));
      const values = variants
        .map((variant) => [variant, objects.objects.get(variant)] as const)
        .filter((pair): pair is readonly [string, CacheValue] => pair[1] !== undefined);
      let awaitable = false;
      for (const [, value] of values) {
        const present = value.present;
        if (present !== null && (this.isFresh(present) || (this.isUsable(present) && value.obligated))) {
          return { found: this.found(requestId, present, true), obligation: null };
        }
        awaitable ||= value.obligated;
      }
      if (awaitable) {
        if (!okToWait) return { found: null, obligation: null };
        await objects.changed();
        continue;
      }
      // Stale but usable (stale-while-revalidate): hand it out with the obligation to revalidate.
      const revalidatable = values.find(([, value]) => value.present !== null && this.isUsable(value.present));
      if (revalidatable !== undefined) {
        const [variant, value] = revalidatable;
        const present = value.present!;
        value.obligated = true;
        objects.notify();
        return {
          found: this.found(requestId, present, true),
          obligation: this.oblige(objects, variant, headers, present, requestId),
        };
      }
      // Nothing usable: an obligation to insert, under the most recent vary rule (or the empty one).
      let variant = variants[0];
      if (variant === undefined) {
        objects.varyRules.unshift([]);
        variant = variantOf([], headers);
      }
      this.setValue(objects, variant, { present: null, obligated: true });
      return { found: null, obligation: this.oblige(objects, variant, headers, null, requestId) };
    }
  }

  /** transaction_lookup_async: answers at once when it can, else starts the waiting lookup. */
  async transactionLookupAsync(requestId: number, key: string, headers: HeaderList): Promise<CoreAsyncLookup> {
    const first = await this.transactionLookup(requestId, key, headers, false);
    if (first.found !== null || first.obligation !== null) return { ready: first };
    const waitId = this.nextId++;
    const wait: LookupWait = { requestId, promise: undefined as never, result: undefined, dropped: false };
    (wait as { promise: Promise<CoreLookupResult> }).promise = this.transactionLookup(
      requestId,
      key,
      headers,
      true,
      wait,
    ).then((result) => {
      wait.result = result;
      if (wait.dropped) this.release(result);
      return result;
    });
    this.waits.set(waitId, wait);
    return { waitId };
  }

  /** cache_busy_handle_wait (or any use of a busy handle): the lookup's outcome. */
  async awaitLookup(waitId: number): Promise<CoreLookupResult> {
    const wait = this.waits.get(waitId);
    if (wait === undefined) throw new Error(`unknown cache lookup ${waitId}`);
    this.waits.delete(waitId);
    return await wait.promise;
  }

  lookupPromise(waitId: number): Promise<unknown> | null {
    const wait = this.waits.get(waitId);
    return wait === undefined || wait.result !== undefined ? null : wait.promise;
  }

  /** close_busy: Viceroy drops the lookup future; an obligation it got (or gets) is dropped too. */
  dropLookup(waitId: number): void {
    const wait = this.waits.get(waitId);
    if (wait === undefined) return;
    this.waits.delete(waitId);
    wait.dropped = true;
    if (wait.result !== undefined) this.release(wait.result);
  }

  /** Non-transactional insert (last writer wins); answers the stream the guest writes. */
  insert(requestId: number, key: string, requestHeaders: HeaderList, options: CoreWriteOptions): { streamId: number } {
    const object = this.store(
      this.objectsFor(key),
      requestHeaders,
      options,
      this.newBody(options.length, requestId),
      null,
    );
    return { streamId: object.streamId };
  }

  /** transaction_insert(_and_stream_back): fulfils the obligation; answers the written object as found. */
  transactionInsert(
    requestId: number,
    obligationId: number,
    options: CoreWriteOptions,
  ): { streamId: number; found: CoreFound } {
    const obligation = this.takeObligation(obligationId);
    const object = this.store(
      obligation.objects,
      obligation.requestHeaders,
      options,
      this.newBody(options.length, requestId),
      obligation.variant,
    );
    return { streamId: object.streamId, found: this.found(requestId, object, false) };
  }

  /** transaction_update: the object the lookup saw, with new metadata; false (obligation kept) when none was seen. */
  transactionUpdate(obligationId: number, options: CoreWriteOptions): boolean {
    const obligation = this.obligations.get(obligationId);
    if (obligation === undefined) throw new Error(`unknown cache obligation ${obligationId}`);
    if (obligation.present === null) return false;
    this.obligations.delete(obligationId);
    this.store(obligation.objects, obligation.requestHeaders, options, obligation.present.body, obligation.variant);
    return true;
  }

  /** Dropping an obligation (cancel, close, the instance ending): the variant is free, waiters look again. */
  releaseObligation(obligationId: number): void {
    const obligation = this.obligations.get(obligationId);
    if (obligation === undefined) return;
    this.obligations.delete(obligationId);
    const value = obligation.objects.objects.get(obligation.variant);
    if (value !== undefined) {
      value.obligated = false;
      obligation.objects.notify();
    }
  }

  write(streamId: number, data: Uint8Array): void {
    this.streams.get(streamId)?.write(data);
  }

  finish(streamId: number, failed: boolean): void {
    this.streams.get(streamId)?.finish(failed);
  }

  /**
   * get_body (Viceroy `GetBodyBuilder::build`): the byte range a new reader gets, [start, end), or the whole body
   * when no range applies. Waits only where Viceroy waits (a range of a body of unknown length).
   */
  async bodyRange(
    streamId: number,
    from: bigint | null,
    to: bigint | null,
    length: bigint | null,
    alwaysUseRequestedRange: boolean,
  ): Promise<{ start: number; end: number | null }> {
    const body = this.stream(streamId);
    const whole = { start: 0, end: null };
    const knownLength = () => (body.state === "complete" ? BigInt(body.size) : length);
    if ((!alwaysUseRequestedRange && knownLength() === null) || (from === null && to === null)) return whole;
    const len = knownLength();
    if (len !== null) {
      if (from === null && to !== null && !(to >= 1n && to <= len)) return whole;
      if (from !== null && !(from >= 0n && from < len)) return whole;
      if (from !== null && to !== null && !(to >= from && to < len)) return whole;
    }
    let start: bigint;
    let end: bigint | null;
    if (from === null && to !== null) {
      while (knownLength() === null && body.state === "streaming") await body.changed();
      const total = knownLength();
      if (total === null) throw new Error("the cached body ended in error");
      if (to > total) return whole;
      start = total - to;
      end = null;
    } else {
      start = from ?? 0n;
      end = to;
    }
    if (len === null) {
      while (body.state === "streaming" && BigInt(body.size) < start + 1n) await body.changed();
      if (body.state === "error" || BigInt(body.size) < start + 1n)
        throw new Error("the cached body ended before the range");
    }
    return { start: Number(start), end: end === null ? null : Number(end) + 1 };
  }

  /** Bytes of a stream from `offset` (up to `end`), waiting until there are some, or the end. */
  async read(streamId: number, offset: number, end: number | null): Promise<BodyChunk> {
    const body = this.stream(streamId);
    const limit = () => (end === null ? body.size : Math.min(end, body.size));
    while (body.state === "streaming" && limit() <= offset && (end === null || offset < end)) await body.changed();
    return body.chunkFrom(offset, end);
  }

  /**
   * The whole of a range at once when the body is no longer streaming (finished, or ended in error), else null: the
   * worker then makes one call for a cached body instead of one per read, as a read of Viceroy's finished in-memory
   * body never waits.
   */
  readFinished(streamId: number, offset: number, end: number | null): BodyChunk | null {
    const body = this.stream(streamId);
    return body.state === "streaming" ? null : body.chunkFrom(offset, end);
  }

  /** Whether a read at `offset` would answer now; else a promise of the next change. */
  readReady(streamId: number, offset: number, end: number | null): Promise<unknown> | null {
    const body = this.streams.get(streamId);
    if (body === undefined || body.state !== "streaming" || body.size > offset || (end !== null && offset >= end))
      return null;
    return body.changed();
  }

  /** Viceroy `Cache::purge`: every variant carrying the surrogate key; soft purge marks them stale. */
  purge(surrogateKey: string, soft: boolean): number {
    let count = 0;
    for (const objects of this.keys.values()) {
      for (const [variant, value] of objects.objects) {
        const present = value.present;
        if (present === null || !present.options.surrogateKeys.includes(surrogateKey)) continue;
        count++;
        if (soft) present.softPurged = true;
        else if (value.obligated) value.present = null;
        else objects.objects.delete(variant);
        if (!soft) this.maybeFree(present.streamId);
      }
    }
    return count;
  }

  clear(): void {
    for (const objects of this.keys.values()) objects.notify();
    this.keys.clear();
    for (const streamId of [...this.streams.keys()]) this.maybeFree(streamId);
  }

  /** Everything a finished request held: obligations dropped, bodies it never closed end in error. */
  releaseOwner(requestId: number): void {
    for (const [waitId, wait] of this.waits) if (wait.requestId === requestId) this.dropLookup(waitId);
    for (const [id, obligation] of this.obligations)
      if (obligation.ownerRequestId === requestId) this.releaseObligation(id);
    for (const streamId of this.heldBy.get(requestId) ?? []) {
      const body = this.streams.get(streamId);
      if (body?.ownerRequestId === requestId) body.finish(true);
      this.streamHolders.get(streamId)?.delete(requestId);
      this.maybeFree(streamId);
    }
    this.heldBy.delete(requestId);
  }

  private objectsFor(key: string): KeyObjects {
    let objects = this.keys.get(key);
    if (objects === undefined) this.keys.set(key, (objects = new KeyObjects()));
    return objects;
  }

  private isFresh(object: CacheObject): boolean {
    return !object.softPurged && this.ageNs(object) < object.options.maxAgeNs;
  }

  private isUsable(object: CacheObject): boolean {
    return this.ageNs(object) < object.options.maxAgeNs + object.options.swrNs;
  }

  private ageNs(object: CacheObject): bigint {
    return object.options.initialAgeNs + BigInt(Math.max(0, Math.round(this.now() - object.insertedMs))) * NS_PER_MS;
  }

  /** A snapshot for a handle; a lookup that finds a usable object counts a hit. */
  private found(requestId: number, object: CacheObject, lookup: boolean): CoreFound {
    if (lookup && this.isUsable(object)) object.hits++;
    this.hold(object.streamId, requestId);
    const body = object.body;
    return {
      streamId: object.streamId,
      insertedMs: object.insertedMs,
      initialAgeNs: object.options.initialAgeNs,
      maxAgeNs: object.options.maxAgeNs,
      swrNs: object.options.swrNs,
      softPurged: object.softPurged,
      userMetadata: object.options.userMetadata,
      length: body.state === "complete" ? BigInt(body.size) : object.options.length,
      hits: object.hits,
    };
  }

  /** Viceroy `CacheKeyObjects::insert`: clears the obligation, puts the vary rule first, stores the variant. */
  private store(
    objects: KeyObjects,
    requestHeaders: HeaderList,
    options: CoreWriteOptions,
    body: CollectingBody,
    clearObligation: string | null,
  ): CacheObject {
    const object: CacheObject = {
      insertedMs: this.now(),
      options,
      requestHeaders,
      body,
      streamId: body.id,
      softPurged: false,
      hits: 0,
    };
    if (clearObligation !== null) {
      const value = objects.objects.get(clearObligation);
      if (value !== undefined) value.obligated = false;
    }
    const ruleKey = options.varyRule.join(" ");
    objects.varyRules = [options.varyRule, ...objects.varyRules.filter((rule) => rule.join(" ") !== ruleKey)];
    const variant = variantOf(options.varyRule, requestHeaders);
    const previous = objects.objects.get(variant);
    this.setValue(objects, variant, { present: object, obligated: previous?.obligated ?? false });
    objects.notify();
    return object;
  }

  private setValue(objects: KeyObjects, variant: string, value: CacheValue): void {
    const replaced = objects.objects.get(variant)?.present;
    objects.objects.set(variant, value);
    if (replaced != null && replaced !== value.present) this.maybeFree(replaced.streamId);
  }

  private oblige(
    objects: KeyObjects,
    variant: string,
    requestHeaders: HeaderList,
    present: CacheObject | null,
    ownerRequestId: number,
  ): number {
    const id = this.nextId++;
    this.obligations.set(id, { objects, variant, requestHeaders, present, ownerRequestId });
    return id;
  }

  private takeObligation(id: number): Obligation {
    const obligation = this.obligations.get(id);
    if (obligation === undefined) throw new Error(`unknown cache obligation ${id}`);
    this.obligations.delete(id);
    return obligation;
  }

  private release(result: CoreLookupResult): void {
    if (result.obligation !== null) this.releaseObligation(result.obligation);
  }

  private newBody(length: bigint | null, requestId: number): CollectingBody {
    const body = new CollectingBody(this.nextId++, length, requestId);
    this.streams.set(body.id, body);
    this.hold(body.id, requestId);
    return body;
  }

  private stream(streamId: number): CollectingBody {
    const body = this.streams.get(streamId);
    if (body === undefined) throw new Error(`unknown cache body ${streamId}`);
    return body;
  }

  private hold(streamId: number, requestId: number): void {
    let holders = this.streamHolders.get(streamId);
    if (holders === undefined) this.streamHolders.set(streamId, (holders = new Set()));
    holders.add(requestId);
    let held = this.heldBy.get(requestId);
    if (held === undefined) this.heldBy.set(requestId, (held = new Set()));
    held.add(streamId);
  }

  /** Frees a stream once no request holds it and no cached value refers to it. */
  private maybeFree(streamId: number): void {
    if ((this.streamHolders.get(streamId)?.size ?? 0) > 0) return;
    for (const objects of this.keys.values())
      for (const value of objects.objects.values()) if (value.present?.streamId === streamId) return;
    this.streams.delete(streamId);
    this.streamHolders.delete(streamId);
  }
}

/** Viceroy `VaryRule::variant`: the rule's headers with all their values, unambiguous. */
export function variantOf(rule: readonly string[], headers: HeaderList): string {
  return JSON.stringify(rule.map((name) => [name, headers.filter(([n]) => n === name).map(([, v]) => v)]));
}
