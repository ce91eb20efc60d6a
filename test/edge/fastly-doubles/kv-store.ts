/**
 * Test double for `fastly:kv-store`: in-memory stores seeded by tests, and a log of every `get`, so adapter tests can
 * prove which store and key the edge asks for. Proves call shapes only; the real store is Fastly's.
 */
const stores = new Map<string, Map<string, string>>();

export const kvLog: { opened: string[]; gets: Array<{ store: string; key: string }> } = { opened: [], gets: [] };

export function seedKvStore(name: string, entries: Record<string, string>): void {
  stores.set(name, new Map(Object.entries(entries)));
}

export function resetKvStores(): void {
  stores.clear();
  kvLog.opened.length = 0;
  kvLog.gets.length = 0;
}

export interface KVStoreEntry {
  text(): Promise<string>;
}

export class KVStore {
  readonly #name: string;
  constructor(name: string) {
    // Like Compute: a store that is not linked to the service cannot be opened.
    if (!stores.has(name)) throw new TypeError(`KVStore constructor: no KV store named ${name}`);
    this.#name = name;
    kvLog.opened.push(name);
  }
  async get(key: string): Promise<KVStoreEntry | null> {
    kvLog.gets.push({ store: this.#name, key });
    const value = stores.get(this.#name)?.get(key);
    return value === undefined ? null : { text: async () => value };
  }
}
