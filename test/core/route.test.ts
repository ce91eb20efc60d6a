import { describe, expect, it } from "vitest";
import { parseRoute } from "../../src/core/route.ts";

describe("parseRoute", () => {
  it("routes /-/status", () => {
    expect(parseRoute("/-/status")).toEqual({ ok: true, route: { kind: "status" } });
  });

  it("routes /<window>/-/explain/<crate>, lowercasing the name as the index does", () => {
    const parsed = parseRoute("/7d/-/explain/Serde");
    expect(parsed).toEqual({
      ok: true,
      route: { kind: "explain", window: { label: "7d", seconds: 604_800 }, name: "serde", path: "se/rd/serde" },
    });
  });

  it("refuses explain with a bad window or name, with the index routes' messages", () => {
    const badWindow = parseRoute("/07d/-/explain/serde");
    expect(badWindow.ok).toBe(false);
    if (!badWindow.ok) expect(badWindow.message).toContain("is not a window");
    const badName = parseRoute("/7d/-/explain/ser%20de");
    expect(badName.ok).toBe(false);
    if (!badName.ok) expect(badName.message).toContain("not a lowercase crate name");
    const empty = parseRoute("/7d/-/explain/");
    expect(empty.ok).toBe(false);
  });

  it("refuses to explain /0d/, which decides nothing", () => {
    const parsed = parseRoute("/0d/-/explain/serde");
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toContain("passes every version through");
  });

  it("routes index files and config.json", () => {
    const parsed = parseRoute("/3d/se/rd/serde");
    expect(parsed.ok && parsed.route.kind === "index" && parsed.route.target).toEqual({
      kind: "crate",
      name: "serde",
      path: "se/rd/serde",
    });
    const config = parseRoute("/3d/config.json");
    expect(config.ok && config.route.kind === "index" && config.route.target).toEqual({ kind: "config" });
  });

  it("explains how to use it when the path has no window", () => {
    const parsed = parseRoute("/");
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toContain("/-/status");
  });
});
