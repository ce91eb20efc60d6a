/** Test double for `fastly:config-store`: named stores of string values, seeded by tests. */
const stores = new Map<string, Map<string, string>>();

export function seedConfigStore(name: string, entries: Record<string, string>): void {
  stores.set(name, new Map(Object.entries(entries)));
}

export function resetConfigStores(): void {
  stores.clear();
}

export class ConfigStore {
  readonly #entries: Map<string, string>;
  constructor(name: string) {
    const entries = stores.get(name);
    // Like Compute: a store that is not linked to the service cannot be opened.
    if (entries === undefined) throw new TypeError(`ConfigStore constructor: no config store named ${name}`);
    this.#entries = entries;
  }
  get(key: string): string | null {
    return this.#entries.get(key) ?? null;
  }
}
