import { parse } from "csv-parse/sync";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CsvColumnScanner, CsvFormatError } from "../../src/dump/csv-column-scanner.ts";

/** Runs the scanner over `text` cut into the given chunk sizes; returns the header and the wanted columns' values. */
function scan(
  text: string | Buffer,
  wanted: (header: readonly string[]) => readonly number[],
  cuts: readonly number[] = [],
) {
  const bytes = typeof text === "string" ? Buffer.from(text, "utf8") : text;
  const rows: string[][] = [];
  let header: readonly string[] = [];
  let slots = 0;
  const scanner = new CsvColumnScanner(
    (columns) => {
      header = columns;
      const picked = wanted(columns);
      slots = picked.length;
      return picked;
    },
    (s) => rows.push(Array.from({ length: slots }, (_, slot) => s.text(slot))),
  );
  let at = 0;
  for (const cut of cuts) {
    if (at >= bytes.length) break;
    // A fresh copy per chunk, then scribbled over: values must not point into a chunk after push returns.
    const chunk = Buffer.from(bytes.subarray(at, Math.min(bytes.length, at + cut)));
    scanner.push(chunk);
    chunk.fill(0x58);
    at += cut;
  }
  if (at < bytes.length) scanner.push(Buffer.from(bytes.subarray(at)));
  scanner.end();
  return { header, rows };
}

/** What csv-parse (the oracle) says for the same columns. */
function oracle(text: string, wanted: (header: readonly string[]) => readonly number[]) {
  const records = parse(text) as string[][];
  const header = records[0] ?? [];
  const picked = wanted(header);
  return { header, rows: records.slice(1).map((record) => picked.map((column) => record[column] as string)) };
}

const trickyText = fc.stringMatching(/^[a-z0-9 ,"\r\n\u00e9\u4e2d\u{1f980}.+-]{0,24}$/u);

/** A CSV file as PostgreSQL or a careless writer might produce it: quoting when needed, or always, or at random. */
const csvFile = fc
  .record({
    columns: fc.integer({ min: 1, max: 7 }),
    rows: fc.integer({ min: 0, max: 12 }),
    seedFields: fc.array(trickyText, { minLength: 100, maxLength: 100 }),
    quoting: fc.constantFrom("needed", "always", "random"),
    lineEnding: fc.constantFrom("\n", "\r\n"),
    finalLineBreak: fc.boolean(),
    wanted: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
  })
  .map(({ columns, rows, seedFields, quoting, lineEnding, finalLineBreak, wanted }) => {
    let k = 0;
    const field = (value: string) => {
      k++;
      const needs = value === "" || /[",\r\n]/.test(value) || value.trim() !== value;
      const quote = quoting === "always" || needs || (quoting === "random" && k % 3 === 0);
      return quote ? `"${value.replace(/"/g, '""')}"` : value;
    };
    const header = Array.from({ length: columns }, (_, c) => `col_${c}`);
    const records = [header.join(",")];
    for (let r = 0; r < rows; r++) {
      records.push(
        Array.from({ length: columns }, (_, c) =>
          field(seedFields[(r * columns + c) % seedFields.length] as string),
        ).join(","),
      );
    }
    // A 1-column file whose last value is empty needs its line break, or the record vanishes (csv-parse agrees).
    const text = records.join(lineEnding) + (finalLineBreak || columns === 1 ? lineEnding : "");
    return { text, pick: [...new Set(wanted.map((w) => w % columns))] };
  });

describe("CsvColumnScanner", () => {
  it("agrees with csv-parse on every wanted column of generated tricky files, however the bytes are chunked", () => {
    fc.assert(
      fc.property(csvFile, fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 60 }), ({ text, pick }, cuts) => {
        const wanted = () => pick;
        expect(scan(text, wanted, cuts)).toEqual(oracle(text, wanted));
      }),
      { numRuns: 600 },
    );
  });

  it("agrees with csv-parse when fed one byte at a time (every state crosses a chunk boundary)", () => {
    const text =
      'id,name,readme\r\n1,"a ""quoted"" name","line 1\r\nline 2, with comma\n"\r\n2,plain,"\u4e2d\u6587 \u{1f980}"\r\n3,"",\r\n';
    const wanted = () => [2, 0, 1];
    expect(scan(text, wanted, Array(text.length).fill(1))).toEqual(oracle(text, wanted));
  });

  it("finds columns by header name, in any order, skipping the ones nobody asked for", () => {
    const text = 'zzz,num,crate_id,aaa\nx,1.0.0,7,y\n"q,""",2.0.0+build,8,"multi\nline"\n';
    const { rows } = scan(text, (h) => [h.indexOf("crate_id"), h.indexOf("num")]);
    expect(rows).toEqual([
      ["7", "1.0.0"],
      ["8", "2.0.0+build"],
    ]);
  });

  it("reads a last record that has no line break", () => {
    expect(scan("a,b\n1,2", () => [1]).rows).toEqual([["2"]]);
  });

  it("tells an empty quoted field from a missing one only by position (both are empty text)", () => {
    expect(scan('a,b,c\n"",,x\n', () => [0, 1, 2]).rows).toEqual([["", "", "x"]]);
  });

  it.each([
    ["an unterminated quoted field", 'a,b\n1,"2\n', /unterminated quoted field in record 1/],
    ["a quote inside an unquoted field", 'a,b\n1"x,2\n', /a quote inside an unquoted field in record 1/],
    ["text after a closing quote", 'a,b\n"1"x,2\n', /text after a closing quote in record 1/],
    ["a record with too few fields", "a,b\n1,2\n3\n", /a record with 1 fields where the header has 2 in record 2/],
    ["a record with too many fields", "a,b\n1,2,3\n", /a record with 3 fields where the header has 2/],
    ["a bare carriage return", "a,b\n1,2\r3,4\n", /carriage return not followed by a line feed/],
    ["an empty file", "", /empty/],
  ])("refuses %s, as csv-parse does", (_what, text, message) => {
    expect(() => scan(text, () => [0])).toThrow(CsvFormatError);
    expect(() => scan(text, () => [0])).toThrow(message);
    if (text !== "" && !text.includes("\r3")) expect(() => parse(text)).toThrow();
  });

  it("hands values over without copying when they sit inside one chunk, and copies them when they span chunks", () => {
    const text = Buffer.from("a,b\nhello,world\n");
    const seen: { sameBuffer: boolean; text: string }[] = [];
    const scanner = new CsvColumnScanner(
      () => [1],
      (s) => seen.push({ sameBuffer: s.valueBytes(0) === text, text: s.text(0) }),
    );
    scanner.push(text);
    scanner.end();
    expect(seen).toEqual([{ sameBuffer: true, text: "world" }]);

    const split = new CsvColumnScanner(
      () => [1],
      (s) => seen.push({ sameBuffer: false, text: s.text(0) }),
    );
    split.push(Buffer.from("a,b\nhello,wo"));
    split.push(Buffer.from("rld\n"));
    split.end();
    expect(seen.at(-1)).toEqual({ sameBuffer: false, text: "world" });
  });
});
