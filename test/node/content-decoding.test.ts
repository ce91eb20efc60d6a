import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { decodeContent, MAX_DECODED_BYTES } from "../../src/node/content-decoding.ts";

const text = Buffer.from('{"name":"serde","vers":"1.0.0"}\n'.repeat(10));

describe("decodeContent", () => {
  it("returns an identity body as it is", async () => {
    expect(await decodeContent(null, text)).toBe(text);
    expect(await decodeContent("identity", text)).toBe(text);
  });

  it.each([
    ["gzip", gzipSync],
    ["x-gzip", gzipSync],
    ["deflate", deflateSync],
    ["br", brotliCompressSync],
  ] as const)("decodes %s", async (coding, encode) => {
    expect((await decodeContent(coding, encode(text)))?.equals(text)).toBe(true);
  });

  it("undoes stacked codings last-applied first", async () => {
    expect((await decodeContent("gzip, br", brotliCompressSync(gzipSync(text))))?.equals(text)).toBe(true);
  });

  it("returns null for a coding it cannot decode, so the caller leaves the body coded", async () => {
    expect(await decodeContent("zstd-unknown", text)).toBeNull();
    expect(await decodeContent("gzip, constructor", text)).toBeNull();
  });

  it("rejects a corrupt body", async () => {
    await expect(decodeContent("gzip", Buffer.from("not gzip"))).rejects.toThrow();
  });

  it("refuses to inflate a body past the size limit (a gzip bomb)", async () => {
    const bomb = gzipSync(Buffer.alloc(1_000_001));
    await expect(decodeContent("gzip", bomb, 1_000_000)).rejects.toThrow();
    expect((await decodeContent("gzip", bomb, MAX_DECODED_BYTES))?.byteLength).toBe(1_000_001);
  });
});
