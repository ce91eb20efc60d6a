import { describe, expect, it } from "vitest";
import { BoundedMemoryCacheStore } from "../../src/node/bounded-cache-store.ts";

const origin = "http://upstream.test";

function keyFor(path: string) {
  return { origin, method: "GET", path, headers: {} };
}

async function store(cache: BoundedMemoryCacheStore, path: string, bytes: number): Promise<void> {
  const now = Date.now();
  const stream = cache.createWriteStream(keyFor(path), {
    statusCode: 200,
    statusMessage: "OK",
    headers: {},
    cachedAt: now,
    staleAt: now + 60_000,
    deleteAt: now + 120_000,
  });
  if (stream === undefined) throw new Error("store refused the entry");
  await new Promise<void>((resolve, reject) => {
    stream.once("finish", resolve).once("error", reject);
    stream.end(Buffer.alloc(bytes));
  });
}

describe("BoundedMemoryCacheStore", () => {
  it("evicts the least recently used URL when a URL more than maxEntries is stored", async () => {
    const cache = new BoundedMemoryCacheStore({ maxEntries: 2, maxBytes: 1_000_000, maxEntryBytes: 1_000 });
    await store(cache, "/a", 10);
    await store(cache, "/b", 10);
    expect(cache.get(keyFor("/a"))).toMatchObject({ statusCode: 200 }); // `/a` is now the most recently used
    await store(cache, "/c", 10);
    expect(cache.get(keyFor("/b"))).toBeUndefined();
    expect(cache.get(keyFor("/a"))).toMatchObject({ statusCode: 200 });
    expect(cache.get(keyFor("/c"))).toMatchObject({ statusCode: 200 });
    expect(cache.entries).toBe(2);
  });

  it("keeps total stored bytes under maxBytes", async () => {
    const cache = new BoundedMemoryCacheStore({ maxEntries: 1_000, maxBytes: 250, maxEntryBytes: 1_000 });
    for (const path of ["/a", "/b", "/c", "/d", "/e"]) await store(cache, path, 100);
    // 100 bytes each under a 250-byte bound: the two most recent stay.
    expect([cache.size, cache.entries]).toEqual([200, 2]);
    expect(cache.get(keyFor("/e"))).toMatchObject({ statusCode: 200 });
    expect(cache.get(keyFor("/d"))).toMatchObject({ statusCode: 200 });
    expect(cache.get(keyFor("/a"))).toBeUndefined();
  });

  it("forgets a URL on delete", async () => {
    const cache = new BoundedMemoryCacheStore({ maxEntries: 10, maxBytes: 1_000, maxEntryBytes: 1_000 });
    await store(cache, "/a", 10);
    await cache.delete(keyFor("/a"));
    expect(cache.get(keyFor("/a"))).toBeUndefined();
    expect(cache.entries).toBe(0);
    expect(cache.size).toBe(0);
  });
});
