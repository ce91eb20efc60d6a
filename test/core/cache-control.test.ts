import { describe, expect, it } from "vitest";
import { filteredMaxAge, maxAgeOf, remainingUpstreamLifetime } from "../../src/core/cache-control.ts";

describe("maxAgeOf", () => {
  it.each([
    [null, null],
    ["public, max-age=600", 600],
    ['max-age="60"', 60],
    ["public", null],
    ["no-store", 0],
    ["max-age=600, no-cache", 0],
    ["private, max-age=600", 0],
    ["max-age=abc", null],
  ])("reads %j as %j", (header, expected) => {
    expect(maxAgeOf(header)).toBe(expected);
  });
});

describe("filteredMaxAge", () => {
  const base = {
    now: 1000,
    upstreamMaxAge: 600,
    nextChangeAt: null,
    hasUnknownAges: false,
    defaultMaxAge: 60,
    unknownAgeMaxAge: 30,
  };
  it("never exceeds upstream's max-age", () => {
    expect(filteredMaxAge(base)).toBe(600);
  });
  it("never outlasts the moment the next hidden version becomes visible", () => {
    expect(filteredMaxAge({ ...base, nextChangeAt: 1100 })).toBe(100);
  });
  it("is short while some version's age is unknown", () => {
    expect(filteredMaxAge({ ...base, hasUnknownAges: true })).toBe(30);
  });
  it("uses the default when upstream says nothing", () => {
    expect(filteredMaxAge({ ...base, upstreamMaxAge: null })).toBe(60);
  });
  it("is never negative", () => {
    expect(filteredMaxAge({ ...base, nextChangeAt: 900 })).toBe(0);
  });
});

describe("remainingUpstreamLifetime", () => {
  it("subtracts the Age a cache already spent", () => {
    expect(remainingUpstreamLifetime(new Headers({ "cache-control": "max-age=600", age: "100" }))).toBe(500);
    expect(remainingUpstreamLifetime(new Headers({ "cache-control": "max-age=600", age: "900" }))).toBe(0);
    expect(remainingUpstreamLifetime(new Headers({ "cache-control": "max-age=600" }))).toBe(600);
    expect(remainingUpstreamLifetime(new Headers({ "cache-control": "max-age=600", age: "junk" }))).toBe(600);
    expect(remainingUpstreamLifetime(new Headers({ age: "5" }))).toBeNull();
  });
});
