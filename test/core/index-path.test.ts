import { describe, expect, it } from "vitest";
import { indexPathFor, parseIndexPath } from "../../src/core/index-path.ts";

describe("indexPathFor", () => {
  it.each([
    ["a", "1/a"],
    ["ab", "2/ab"],
    ["abc", "3/a/abc"],
    ["cargo", "ca/rg/cargo"],
    ["Serde", "se/rd/serde"],
    ["a-b_c", "a-/b_/a-b_c"],
  ])("puts %s at %s", (name, path) => {
    expect(indexPathFor(name)).toBe(path);
  });
});

describe("parseIndexPath", () => {
  it.each([
    "1/a",
    "2/ab",
    "3/a/abc",
    "se/rd/serde",
    "we/b-/web-sys",
    "a-/b_/a-b_c",
    `${"x".repeat(2)}/${"x".repeat(2)}/${"x".repeat(64)}`,
  ])("accepts cargo's path %s", (path) => {
    const parsed = parseIndexPath(path);
    expect(parsed.ok).toBe(true);
    if (parsed.ok && parsed.target.kind === "crate") expect(parsed.target.path).toBe(path);
  });

  it("accepts config.json", () => {
    expect(parseIndexPath("config.json")).toEqual({ ok: true, target: { kind: "config" } });
  });

  it.each([
    ["", "empty index path"],
    ["Se/rd/Serde", "not a lowercase crate name"],
    ["se/rd/serde/", "empty crate name"],
    ["se/rd/..", "not a lowercase crate name"],
    ["se%2Frd%2Fserde", "not a lowercase crate name"],
    ["se/rd/ser%64e", "not a lowercase crate name"],
    ["xx/yy/serde", 'does not match crate "serde"'],
    ["3/b/abc", "does not match"],
    ["2/abc", "does not match"],
    ["1/ab", "does not match"],
    ["se/rd/serde.json", "not a lowercase crate name"],
    ["9a/bc/9abc", "not a lowercase crate name"],
    ["_a/bc/_abc", "not a lowercase crate name"],
    [`se/rd/serd${"e".repeat(61)}`, "longer than 64"],
    ["nested/config.json", "not a lowercase crate name"],
    ["se//rd/serde", "does not match"],
  ])("refuses %j (%s)", (path, reason) => {
    const parsed = parseIndexPath(path);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toContain(reason);
  });
});
