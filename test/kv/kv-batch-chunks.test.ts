import { describe, expect, it } from "vitest";
import { chunkKvBatches } from "../../src/kv/kv-batch-chunks.ts";
import { kvBatchBody, kvBatchLine } from "../../src/kv/kv-batch-line.ts";

const lines = (n: number, valueLength = 10) =>
  Array.from({ length: n }, (_, i) => kvBatchLine(`k${i}`, "x".repeat(valueLength)));

describe("kvBatchLine", () => {
  it("writes one JSON object with the key and the base64 of the value's UTF-8 bytes", () => {
    const line = kvBatchLine("serde", '{"v":1,"crate":"serde","times":{"1.0.0":1}} é');
    const parsed = JSON.parse(line.text) as { key: string; value: string };
    expect(parsed.key).toBe("serde");
    expect(Buffer.from(parsed.value, "base64").toString("utf8")).toBe('{"v":1,"crate":"serde","times":{"1.0.0":1}} é');
    expect(line.text).not.toContain("\n");
  });

  it("ends every line of a body with a newline", () => {
    expect(kvBatchBody(lines(2))).toMatch(/^\{[^\n]+\}\n\{[^\n]+\}\n$/);
  });
});

describe("chunkKvBatches", () => {
  it("closes a batch at the line cap", () => {
    expect([...chunkKvBatches(lines(7), { maxLines: 3, maxBytes: 1e9 })].map((b) => b.length)).toEqual([3, 3, 1]);
  });

  it("closes a batch before the line that would cross the byte cap, counting newlines", () => {
    const size = kvBatchBody(lines(1)).length;
    const batches = [...chunkKvBatches(lines(5), { maxLines: 100, maxBytes: size * 2 })];
    expect(batches.map((b) => b.length)).toEqual([2, 2, 1]);
    for (const batch of batches) expect(kvBatchBody(batch).length).toBeLessThanOrEqual(size * 2);
  });

  it("sends a line bigger than the byte cap alone", () => {
    const big = kvBatchLine("big", "y".repeat(1000));
    expect(
      [...chunkKvBatches([...lines(2), big, ...lines(1)], { maxLines: 100, maxBytes: 200 })].map((b) =>
        b.map((l) => l.key),
      ),
    ).toEqual([["k0", "k1"], ["big"], ["k0"]]);
  });

  it("yields nothing for no lines", () => {
    expect([...chunkKvBatches([], { maxLines: 3, maxBytes: 100 })]).toEqual([]);
  });
});
