import { describe, expect, it } from "vitest";
import { BoundedMemoryCacheStore } from "../../src/node/bounded-cache-store.ts";
import { CacheMemory, ENTRY_OVERHEAD_BYTES } from "../../src/node/cache-memory.ts";

const origin = "http://upstream.test";
const HEADERS = { etag: '"abc"', "cache-control": "public, max-age=60" };

function keyFor(path: string, headers: Record<string, string> = {}) {
  return { origin, method: "GET", path, headers };
}

/** What one stored URL costs, as the store is documented to count it: body, key, headers (2 bytes a character), allowance. */
function costOf(path: string, bodyBytes: number, headers: Record<string, string> = HEADERS): number {
  const text = `${origin}:${path}${Object.entries(headers).flat().join("")}`;
  return ENTRY_OVERHEAD_BYTES + 2 * text.length + bodyBytes;
}

async function store(
  cache: BoundedMemoryCacheStore,
  path: string,
  bytes: number,
  options: { deleteInMs?: number; chunks?: number } = {},
): Promise<void> {
  const now = Date.now();
  const stream = cache.createWriteStream(keyFor(path), {
    statusCode: 200,
    statusMessage: "OK",
    headers: HEADERS,
    cachedAt: now,
    staleAt: now + 60_000,
    deleteAt: now + (options.deleteInMs ?? 120_000),
  });
  if (stream === undefined) throw new Error("store refused the entry");
  await new Promise<void>((resolve, reject) => {
    stream.once("finish", resolve).once("error", reject).once("close", resolve);
    const chunks = options.chunks ?? 1;
    for (let i = 0; i < chunks; i++) stream.write(Buffer.alloc(Math.floor(bytes / chunks)));
    stream.end();
  });
}

describe("BoundedMemoryCacheStore", () => {
  it("charges every byte it keeps to the shared bound: body chunks, key, headers and the per-entry allowance", async () => {
    const memory = new CacheMemory(1_000_000);
    const cache = new BoundedMemoryCacheStore(memory);
    await store(cache, "/a", 3_000, { chunks: 3 });
    await store(cache, "/bb", 500);
    const expected = costOf("/a", 3_000) + costOf("/bb", 500);
    expect(cache.size).toBe(expected);
    expect(memory.usedBytes).toBe(expected);
    const hit = cache.get(keyFor("/a"));
    expect(Buffer.concat(hit?.body as Buffer[]).byteLength).toBe(3_000);
  });

  it("keeps a body as its own bytes, never as a view that would hold a larger block (a socket read buffer) alive", async () => {
    const cache = new BoundedMemoryCacheStore(new CacheMemory(1_000_000));
    const now = Date.now();
    const stream = cache.createWriteStream(keyFor("/view"), {
      statusCode: 200,
      statusMessage: "OK",
      headers: HEADERS,
      cachedAt: now,
      staleAt: now + 60_000,
      deleteAt: now + 120_000,
    });
    const block = Buffer.alloc(65_536, 7);
    await new Promise((resolve) => stream?.once("close", resolve).end(block.subarray(100, 400)));
    const [body] = (cache.get(keyFor("/view"))?.body ?? []) as Buffer[];
    expect(body?.equals(block.subarray(100, 400))).toBe(true);
    expect(body?.buffer.byteLength).toBe(300);
  });

  it("evicts the least recently used URL when the bound is exceeded", async () => {
    const memory = new CacheMemory(2 * costOf("/a", 100) + 50);
    const cache = new BoundedMemoryCacheStore(memory);
    await store(cache, "/a", 100);
    await store(cache, "/b", 100);
    expect(cache.get(keyFor("/a"))).toMatchObject({ statusCode: 200 }); // `/a` is now the most recently used
    await store(cache, "/c", 100);
    expect(cache.get(keyFor("/b"))).toBeUndefined();
    expect(cache.get(keyFor("/a"))).toMatchObject({ statusCode: 200 });
    expect(cache.get(keyFor("/c"))).toMatchObject({ statusCode: 200 });
    expect([cache.entries, memory.usedBytes]).toEqual([2, costOf("/a", 100) + costOf("/c", 100)]);
    expect(memory.usedBytes).toBeLessThanOrEqual(memory.limitBytes);
  });

  it("replaces a URL's answer and drops its expired ones instead of keeping them beside it", async () => {
    const memory = new CacheMemory(1_000_000);
    const cache = new BoundedMemoryCacheStore(memory);
    await store(cache, "/a", 100, { deleteInMs: 1 });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await store(cache, "/a", 200);
    await store(cache, "/a", 300);
    expect([cache.entries, cache.size, memory.usedBytes]).toEqual([1, costOf("/a", 300), costOf("/a", 300)]);
  });

  it("never keeps a body larger than a sixteenth of the bound", async () => {
    const memory = new CacheMemory(16_000);
    const cache = new BoundedMemoryCacheStore(memory);
    await store(cache, "/big", 1_001);
    expect([cache.entries, memory.usedBytes]).toEqual([0, 0]);
    expect(cache.get(keyFor("/big"))).toBeUndefined();
  });

  it("forgets a URL on delete, and its bytes with it", async () => {
    const memory = new CacheMemory(1_000_000);
    const cache = new BoundedMemoryCacheStore(memory);
    await store(cache, "/a", 10);
    cache.delete(keyFor("/a"));
    expect(cache.get(keyFor("/a"))).toBeUndefined();
    expect([cache.entries, cache.size, memory.usedBytes]).toEqual([0, 0, 0]);
  });
});
