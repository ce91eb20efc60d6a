import { describe, expect, it } from "vitest";
import { isNotModified, notModifiedResponse } from "../../src/node/upstream-conditionals.ts";

const answer = new Headers({
  etag: '"v2"',
  "last-modified": "Tue, 10 Nov 2026 10:00:00 GMT",
  "cache-control": "max-age=60",
  "content-length": "123",
});

describe("isNotModified", () => {
  it("holds when If-None-Match lists the current tag", () => {
    expect(isNotModified(new Headers({ "if-none-match": '"v1", "v2"' }), answer)).toBe(true);
  });

  it("does not hold for another tag, even when If-Modified-Since would", () => {
    const request = new Headers({ "if-none-match": '"v1"', "if-modified-since": "Wed, 11 Nov 2026 10:00:00 GMT" });
    expect(isNotModified(request, answer)).toBe(false);
  });

  it("uses If-Modified-Since only without If-None-Match", () => {
    expect(isNotModified(new Headers({ "if-modified-since": "Tue, 10 Nov 2026 10:00:00 GMT" }), answer)).toBe(true);
    expect(isNotModified(new Headers({ "if-modified-since": "Mon, 09 Nov 2026 10:00:00 GMT" }), answer)).toBe(false);
    expect(isNotModified(new Headers({ "if-modified-since": "garbage" }), answer)).toBe(false);
  });

  it("does not hold for an unconditional request", () => {
    expect(isNotModified(new Headers(), answer)).toBe(false);
  });
});

describe("notModifiedResponse", () => {
  it("keeps the validators and caching fields and drops the body's", () => {
    const response = notModifiedResponse(answer);
    expect(response.status).toBe(304);
    expect(response.headers.get("etag")).toBe('"v2"');
    expect(response.headers.get("cache-control")).toBe("max-age=60");
    expect(response.headers.has("content-length")).toBe(false);
  });
});
