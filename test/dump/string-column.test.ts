import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StringColumn } from "../../src/dump/string-column.ts";

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
