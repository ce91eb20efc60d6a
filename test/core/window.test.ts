import { describe, expect, it } from "vitest";
import { isPassThrough, parseWindow } from "../../src/core/window.ts";

describe("parseWindow", () => {
  it.each([
    ["0d", 0],
    ["1d", 86_400],
    ["7d", 7 * 86_400],
    ["30d", 30 * 86_400],
    ["1h", 3_600],
    ["36h", 36 * 3_600],
    ["720h", 720 * 3_600],
  ])("accepts /%s/ as %i seconds", (segment, seconds) => {
    expect(parseWindow(segment)).toEqual({ ok: true, window: { label: segment, seconds } });
  });

  it.each([
    "03d",
    "+3d",
    "3D",
    "31d",
    "0h",
    "721h",
    "007h",
    "-1d",
    "1.5d",
    "d",
    "7",
    "7days",
    " 7d",
    "7d ",
    "",
    "1w",
    "100d",
    "1000h",
  ])("rejects %j with a message naming the accepted forms", (segment) => {
    const parsed = parseWindow(segment);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toContain("/Nd/ with N = 0…30");
  });

  it("treats only 0d as pass-through", () => {
    const zero = parseWindow("0d");
    const seven = parseWindow("7d");
    expect(zero.ok && isPassThrough(zero.window)).toBe(true);
    expect(seven.ok && isPassThrough(seven.window)).toBe(false);
  });

  it("keeps the message one printable line whatever the segment holds", () => {
    const parsed = parseWindow(`\n\u0000évil${"x".repeat(500)}`);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.message).not.toMatch(/[\n\r\u0000]/);
      expect(parsed.message.length).toBeLessThan(400);
    }
  });
});
