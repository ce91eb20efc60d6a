import { describe, expect, it } from "vitest";
import { negotiateContentCoding } from "../../src/server/accept-encoding.ts";

describe("negotiateContentCoding", () => {
  it("answers identity when the client sends no Accept-Encoding", () => {
    expect(negotiateContentCoding(null)).toBeNull();
  });

  it("picks gzip from what curl and cargo send", () => {
    expect(negotiateContentCoding("deflate, gzip")).toBe("gzip");
  });

  it("prefers br over gzip when both are equally acceptable", () => {
    expect(negotiateContentCoding("deflate, gzip, br, zstd")).toBe("br");
  });

  it("follows the client's q-values", () => {
    expect(negotiateContentCoding("br;q=0.1, gzip;q=0.9")).toBe("gzip");
  });

  it("never picks a coding the client refused with q=0", () => {
    expect(negotiateContentCoding("gzip;q=0")).toBeNull();
    expect(negotiateContentCoding("*, br;q=0")).toBe("gzip");
  });

  it("treats `*` as every coding not named", () => {
    expect(negotiateContentCoding("*")).toBe("br");
  });

  it("accepts x-gzip as gzip and ignores case", () => {
    expect(negotiateContentCoding("X-GZIP")).toBe("gzip");
  });

  it("treats a malformed q-value as not acceptable", () => {
    expect(negotiateContentCoding("gzip;q=lots")).toBeNull();
  });

  it("answers identity for codings it does not produce", () => {
    expect(negotiateContentCoding("deflate, zstd")).toBeNull();
  });
});
