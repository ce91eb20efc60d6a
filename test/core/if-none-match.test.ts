import { describe, expect, it } from "vitest";
import { strongEtagFor } from "../../src/core/etag.ts";
import { ifNoneMatchHolds } from "../../src/core/if-none-match.ts";

describe("ifNoneMatchHolds (RFC 9110 §13.1.2)", () => {
  it.each([
    [null, true],
    ['"abc"', false],
    ['W/"abc"', false],
    ['"x", "abc"', false],
    ["*", false],
    ['"other"', true],
    ['"abcd"', true],
  ])("with If-None-Match %j the condition holds: %s", (header, holds) => {
    expect(ifNoneMatchHolds(header, '"abc"')).toBe(holds);
  });
});

describe("strongEtagFor", () => {
  it("is a quoted, strong tag that differs when the body differs and is stable otherwise", async () => {
    const a = await strongEtagFor(new TextEncoder().encode("a\n"));
    expect(a).toMatch(/^"[0-9a-f]{32}"$/);
    expect(await strongEtagFor(new TextEncoder().encode("a\n"))).toBe(a);
    expect(await strongEtagFor(new TextEncoder().encode("b\n"))).not.toBe(a);
  });
});
