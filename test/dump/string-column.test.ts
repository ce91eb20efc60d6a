import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StringColumn, StringLog } from "../../src/dump/string-column.ts";

function columnOf(texts: readonly string[]): StringColumn {
  const column = new StringColumn();
  for (const text of texts) {
    const bytes = Buffer.from(`xx${text}yy`, "utf8");
    column.push(bytes, 2, bytes.length - 2);
  }
  return column;
}

const byteOrder = (a: string, b: string) => Math.sign(Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")));

describe("StringColumn", () => {
  it("gives back every string it was given, ASCII or not, across page boundaries", () => {
    const texts = Array.from({ length: 200_000 }, (_, i) =>
      i % 1000 === 0 ? `\u00e9t\u00e9-${i}-\u{1f980}` : `${i >> 8}.${i & 255}.0+build.${i}`,
    );
    const column = columnOf(texts);
    expect(column.length).toBe(texts.length);
    for (const i of [0, 1, 999, 1000, 65_535, 65_536, 131_072, 199_999]) expect(column.text(i)).toBe(texts[i]);
    expect(texts.every((text, i) => column.text(i) === text)).toBe(true);
  });

  it("orders entries by their bytes, as SQLite's BINARY collation does, against each other and against text", () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: "grapheme", maxLength: 8 }), { minLength: 2, maxLength: 20 }),
        fc.string({ unit: "grapheme", maxLength: 8 }),
        (texts, probe) => {
          const column = columnOf(texts);
          for (let i = 0; i < texts.length; i++) {
            expect(Math.sign(column.compareWithText(i, probe))).toBe(byteOrder(texts[i] as string, probe));
            expect(Math.sign(column.compareEntries(i, 0))).toBe(byteOrder(texts[i] as string, texts[0] as string));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("refuses a string longer than 32,767 bytes", () => {
    expect(() => new StringColumn().push(Buffer.alloc(40_000), 0, 40_000)).toThrow(RangeError);
  });
});

/** Per-entry groups in blocks of 65,536, the layout `StringLog.group` reads. */
function groupBlocks(groups: readonly number[]): Int32Array[] {
  const blocks: Int32Array[] = [];
  for (let k = 0; k < groups.length; k += 65_536) blocks.push(Int32Array.from(groups.slice(k, k + 65_536)));
  return blocks;
}

function groupTexts(log: StringLog, groups: readonly number[], groupCount: number): string[][] {
  const packed = log.group(groupBlocks(groups), groupCount);
  return Array.from({ length: groupCount }, (_, g) => {
    const texts: string[] = [];
    let outOfPlace = 0;
    packed.forEachInGroup(g, (text, position) => {
      if (position !== texts.length) outOfPlace++;
      texts.push(text);
    });
    expect(outOfPlace).toBe(0);
    return texts;
  });
}

describe("StringLog", () => {
  it("groups every entry, in entry order within its group, and drops those of no group", () => {
    // Short and long entries (one- and two-byte headers), non-ASCII ones, several pages and group blocks.
    const texts = Array.from({ length: 150_000 }, (_, i) =>
      i % 997 === 0
        ? `\u00e9t\u00e9-${i}-\u{1f980}`
        : i % 101 === 0
          ? `${"x".repeat(60 + (i % 200))}-${i}`
          : `${i >> 8}.${i & 255}.0`,
    );
    const log = new StringLog();
    for (const text of texts) {
      const bytes = Buffer.from(`xx${text}yy`, "utf8");
      log.push(bytes, 2, bytes.length - 2);
    }
    expect(log.length).toBe(texts.length);
    // 50 groups, group 49 left empty; every seventh entry in none.
    const groups = texts.map((_, i) => (i % 7 === 0 ? -1 : (i * 31) % 49));
    const expected: string[][] = Array.from({ length: 50 }, () => []);
    texts.forEach((text, i) => {
      if ((groups[i] as number) >= 0) expected[groups[i] as number]?.push(text);
    });
    expect(groupTexts(log, groups, 50)).toEqual(expected);
    expect(log.length).toBe(0);
  });

  it("reads a group of ASCII entries, and one with a non-ASCII entry among them, exactly", () => {
    const log = new StringLog();
    const texts = ["1.0.0", "0.1.0-alpha.1+build.5", "caf\u00e9", "10.20.30", "y".repeat(64), "2.0.0"];
    for (const text of texts) {
      const bytes = Buffer.from(text, "utf8");
      log.push(bytes, 0, bytes.length);
    }
    expect(groupTexts(log, [1, 0, 0, 1, 1, 0], 2)).toEqual([
      ["0.1.0-alpha.1+build.5", "caf\u00e9", "2.0.0"],
      ["1.0.0", "10.20.30", "y".repeat(64)],
    ]);
  });

  it("refuses a string longer than 16,383 bytes", () => {
    expect(() => new StringLog().push(Buffer.alloc(20_000), 0, 20_000)).toThrow(RangeError);
    const log = new StringLog();
    log.push(Buffer.alloc(16_383, 0x61), 0, 16_383);
    expect(groupTexts(log, [0], 1)).toEqual([["a".repeat(16_383)]]);
  });
});
