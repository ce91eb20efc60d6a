import { describe, expect, it } from "vitest";
import { decodeUtf8Exactly, decodeUtf8ExactlyByResponse } from "../../src/core/utf8.ts";

const bytesOf = (...parts: Array<string | number[]>) =>
  new Uint8Array(
    Buffer.concat(parts.map((part) => (typeof part === "string" ? Buffer.from(part) : Buffer.from(part)))),
  );

describe("decoding an upstream body exactly", () => {
  it("keeps a leading BOM and refuses invalid bytes with a TypeError", () => {
    expect(decodeUtf8Exactly(bytesOf([0xef, 0xbb, 0xbf], "{}"))).toBe("\uFEFF{}");
    expect(() => decodeUtf8Exactly(bytesOf("{", [0xff], "}"))).toThrow(TypeError);
  });

  describe("through Response.text() where that is exact", () => {
    const cases: Array<[string, Uint8Array<ArrayBuffer>]> = [
      ["an ASCII body", bytesOf('{"name":"demo","vers":"1.0.0","features":{"a":["b"]}}\n')],
      ["an empty body", bytesOf("")],
      ["a body with non-ASCII characters", bytesOf('{"features":{"grüße":[],"日本":[],"🦀":[]}}\n')],
      ["a body that starts with a BOM", bytesOf([0xef, 0xbb, 0xbf], '{"name":"demo"}\n')],
      ["a body that holds U+FFFD itself", bytesOf('{"features":{"\uFFFD":[]}}\n')],
      ["a body of ASCII and one two-byte character", bytesOf(`${"a".repeat(100)}é`)],
    ];
    it.each(cases)("gives for %s exactly what TextDecoder gives", async (_, bytes) => {
      expect(await decodeUtf8ExactlyByResponse(bytes)).toBe(decodeUtf8Exactly(bytes));
    });

    it("refuses invalid bytes as TextDecoder does, where text() would have replaced them", async () => {
      // As many characters as bytes once each invalid byte is a U+FFFD: only the check for U+FFFD tells.
      for (const bytes of [bytesOf("{", [0xff], "}"), bytesOf([0x80, 0x80]), bytesOf("ok", [0xc3])]) {
        await expect(decodeUtf8ExactlyByResponse(bytes)).rejects.toThrow(TypeError);
      }
    });
  });
});
