import { describe, expect, it } from "vitest";
import { DumpSnapshot } from "../../src/dump/dump-snapshot.ts";

function bytes(text: string): Buffer {
  return Buffer.from(text, "utf8");
}

describe("DumpSnapshot", () => {
  it("hands each crate its versions.csv rows in file order, with their times and publishers, wherever they lay", () => {
    const snapshot = new DumpSnapshot(1234);
    // crate ids out of name order, one name spelled twice in different cases (one crate), and an id with no crate.
    const crates: [number, string][] = [
      [7, "zeta"],
      [3, "alpha"],
      [9, "Mid"],
      [4, "mid"],
      [5, "quiet"],
    ];
    for (const [id, name] of crates) snapshot.addCrate(id, bytes(name), 0, name.length);
    const ids = [7, 3, 9, 4, 42];
    const expected = new Map<string, [string, number, number][]>([
      ["alpha", []],
      ["mid", []],
      ["zeta", []],
    ]);
    const nameOf = new Map([
      [7, "zeta"],
      [3, "alpha"],
      [9, "mid"],
      [4, "mid"],
    ]);
    // More rows than one block (65,536), crates interleaved as versions.csv's publish order interleaves them.
    const rows = 150_000;
    let orphans = 0;
    for (let row = 0; row < rows; row++) {
      const id = ids[(row * 7 + (row >> 9)) % ids.length] as number;
      const version = row % 4999 === 0 ? `1.0.${row}-\u00e9` : `${row >> 10}.${row & 1023}.0`;
      // Times up to 2^32 (after 2038 as well).
      const at = row % 11 === 0 ? 4_000_000_000 + row : 1_500_000_000 + row;
      const by = row % 3 === 0 ? -1 : row % 1000;
      const raw = bytes(`,${version},`);
      snapshot.addVersion(id, raw, 1, raw.length - 1, at, false, by);
      const crate = nameOf.get(id);
      if (crate === undefined) orphans++;
      else expected.get(crate)?.push([version, at, by]);
    }
    expect(snapshot.crateCount).toBe(4);
    expect(orphans).toBeGreaterThan(0);
    expect(snapshot.orphanRows).toBe(orphans);
    const seen = new Map<string, [string, number, number][]>();
    for (const crate of snapshot.crates()) {
      const list: [string, number, number][] = [];
      crate.forEachVersion((version, at, by) => list.push([version, at, by]));
      expect(crate.versionCount).toBe(list.length);
      seen.set(crate.crate, list);
    }
    // "quiet" has no versions and is not visited; the others come in name order.
    expect([...seen.keys()]).toEqual(["alpha", "mid", "zeta"]);
    expect(seen).toEqual(expected);
    expect(snapshot.hasVersionsOf("quiet")).toBe(false);
    expect(snapshot.hasVersionsOf("mid")).toBe(true);
  });
});
