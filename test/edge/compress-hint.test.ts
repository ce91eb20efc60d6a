import { describe, expect, it } from "vitest";
import { withCompressHint } from "../../src/edge/compress-hint.ts";

describe("the compress hint", () => {
  it("asks Fastly to compress the response for the client with x-compress-hint: on", () => {
    const response = withCompressHint(new Response("body", { headers: { etag: '"e"' } }));
    expect(response.headers.get("x-compress-hint")).toBe("on");
    expect(response.headers.get("etag")).toBe('"e"');
  });
});
