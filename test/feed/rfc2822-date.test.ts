import { describe, expect, it } from "vitest";
import { parseRfc2822Date } from "../../src/feed/rfc2822-date.ts";

const at = Date.UTC(2024, 5, 22, 15, 57, 19) / 1000;

describe("parseRfc2822Date", () => {
  it.each([
    ["Sat, 22 Jun 2024 15:57:19 +0000", at],
    ["22 Jun 2024 15:57:19 +0000", at],
    ["Sat, 22 Jun 2024 15:57:19 GMT", at],
    ["Sat, 22 Jun 2024 15:57:19 UT", at],
    ["Sat, 22 Jun 2024 17:57:19 +0200", at],
    ["Sat, 22 Jun 2024 10:57:19 -0500", at],
    ["Sat,  2 Jun 2024 15:57 +0000", Date.UTC(2024, 5, 2, 15, 57) / 1000],
    ["sat, 22 jun 2024 15:57:19 +0000", at],
  ])("reads %j", (text, expected) => {
    expect(parseRfc2822Date(text)).toBe(expected);
  });

  it.each([
    "Sat, 31 Jun 2024 15:57:19 +0000",
    "Sat, 22 Jun 2024 25:57:19 +0000",
    "Sat, 22 Jun 2024 15:57:19 EST",
    "Sat, 22 Jun 2024 15:57:19",
    "Xyz, 22 Jun 2024 15:57:19 +0000",
    "2024-06-22T15:57:19Z",
    "",
  ])("refuses %j", (text) => {
    expect(parseRfc2822Date(text)).toBeNull();
  });
});
