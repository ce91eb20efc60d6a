/**
 * Test double for `fastly:cache` (CoreCache transactions, the plain lookup/insert kept scans use, and `SimpleCache.get`,
 * which the SDK answers with the same lookup hostcall, so it sees the same entries): one in-memory cache, entries
 * fresh while age < maxAge by a clock tests may move, and a log of lookups and inserts so adapter tests can prove what
 * the edge stores and under which key. No collapsing of concurrent misses (unit tests run one request at a time); the
 * contract suite proves the real behaviour under the local Compute host.
 */
interface Stored {
  readonly body: Uint8Array<ArrayBuffer>;
  readonly maxAgeMs: number;
  readonly storedAtMs: number;
  readonly userMetadata: Uint8Array;
}

const entries = new Map<string, Stored>();
let nowMs = (): number => Date.now();

export const cacheLog: {
  lookups: string[];
  inserts: Array<{ key: string; maxAge: number; surrogateKeys?: readonly string[] }>;
  simpleLookups: string[];
} = {
  lookups: [],
  inserts: [],
  simpleLookups: [],
};

/** Whether `SimpleCache.get` finds Core Cache entries (as the SDK's does); tests turn it off to prove the fallback. */
export const simpleCacheSharing = { enabled: true };

export function resetCoreCache(clock: () => number = () => Date.now()): void {
  entries.clear();
  cacheLog.lookups.length = 0;
  cacheLog.inserts.length = 0;
  cacheLog.simpleLookups.length = 0;
  simpleCacheSharing.enabled = true;
  nowMs = clock;
}

class CacheState {
  constructor(
    private readonly isFound: boolean,
    private readonly obligation: boolean,
  ) {}
  found(): boolean {
    return this.isFound;
  }
  usable(): boolean {
    return this.isFound;
  }
  stale(): boolean {
    return false;
  }
  mustInsertOrUpdate(): boolean {
    return this.obligation;
  }
}

class BodyWriter {
  private readonly chunks: Uint8Array[] = [];
  constructor(private readonly done: (body: Uint8Array<ArrayBuffer>) => void) {}
  append(data: Uint8Array | string): void {
    this.chunks.push(typeof data === "string" ? new TextEncoder().encode(data) : data);
  }
  close(): void {
    const length = this.chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
    const body = new Uint8Array(length);
    let offset = 0;
    for (const chunk of this.chunks) {
      body.set(chunk, offset);
      offset += chunk.byteLength;
    }
    this.done(body);
  }
}

export class TransactionCacheEntry {
  #obligation: boolean;
  constructor(
    private readonly key: string,
    private readonly stored: Stored | undefined,
  ) {
    this.#obligation = stored === undefined;
  }
  state(): CacheState {
    return new CacheState(this.stored !== undefined, this.#obligation);
  }
  userMetadata(): ArrayBuffer {
    return (this.stored?.userMetadata ?? new Uint8Array()).slice().buffer;
  }
  body(): ReadableStream<Uint8Array> {
    return new Response(this.stored?.body ?? new Uint8Array()).body as ReadableStream<Uint8Array>;
  }
  maxAge(): number {
    return this.stored?.maxAgeMs ?? 0;
  }
  age(): number {
    return this.stored === undefined ? 0 : nowMs() - this.stored.storedAtMs;
  }
  insert(options: {
    maxAge: number;
    userMetadata?: string;
    length?: number;
    surrogateKeys?: readonly string[];
  }): BodyWriter {
    if (!this.#obligation) throw new Error("insert without an obligation");
    this.#obligation = false;
    cacheLog.inserts.push({
      key: this.key,
      maxAge: options.maxAge,
      ...(options.surrogateKeys === undefined ? {} : { surrogateKeys: options.surrogateKeys }),
    });
    const storedAtMs = nowMs();
    return new BodyWriter((body) =>
      entries.set(this.key, {
        body,
        maxAgeMs: options.maxAge,
        storedAtMs,
        userMetadata: new TextEncoder().encode(options.userMetadata ?? ""),
      }),
    );
  }
  cancel(): void {
    if (!this.#obligation) throw new Error("cancel without an obligation");
    this.#obligation = false;
  }
  close(): void {}
}

/** The entry, if present and fresh; an entry past its end stays present (as in Viceroy) until an insert replaces it. */
function freshEntry(key: string): Stored | undefined {
  const stored = entries.get(key);
  return stored !== undefined && nowMs() - stored.storedAtMs < stored.maxAgeMs ? stored : undefined;
}

export const CoreCache = {
  transactionLookup(key: string): TransactionCacheEntry {
    cacheLog.lookups.push(key);
    return new TransactionCacheEntry(key, freshEntry(key));
  },
  lookup(key: string): TransactionCacheEntry | null {
    cacheLog.lookups.push(key);
    const fresh = freshEntry(key);
    return fresh === undefined ? null : new TransactionCacheEntry(key, fresh);
  },
  insert(key: string, options: { maxAge: number; length?: number }): BodyWriter {
    cacheLog.inserts.push({ key, maxAge: options.maxAge });
    const storedAtMs = nowMs();
    return new BodyWriter((body) =>
      entries.set(key, { body, maxAgeMs: options.maxAge, storedAtMs, userMetadata: new Uint8Array() }),
    );
  },
};

export const SimpleCache = {
  /**
   * As the SDK's: a lookup without a transaction, whose entry is whatever is present, fresh or not (Viceroy answers
   * an entry past its end until something replaces it), read whole.
   */
  get(key: string): { arrayBuffer(): Promise<ArrayBuffer>; text(): Promise<string> } | null {
    cacheLog.simpleLookups.push(key);
    const present = simpleCacheSharing.enabled ? entries.get(key) : undefined;
    if (present === undefined) return null;
    return {
      arrayBuffer: async () => present.body.slice().buffer,
      text: async () => new TextDecoder().decode(present.body),
    };
  },
};
