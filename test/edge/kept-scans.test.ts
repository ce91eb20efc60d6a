import { beforeEach, describe, expect, it } from "vitest";
import { KEPT_SCAN_SECONDS, keptScans } from "../../src/edge/kept-scans.ts";
import { cacheLog, resetCoreCache } from "./fastly-doubles/cache.ts";

describe("kept scans in the Core Cache", () => {
  let nowMs = 0;
  beforeEach(() => {
    nowMs = 1_000_000;
    resetCoreCache(() => nowMs);
  });

  it("stores a scan under its key for a day and reads it back", async () => {
    const scans = keptScans();
    expect(await scans.get('scan-v1/de/mo/demo/10/"a"')).toBeNull();
    await scans.put('scan-v1/de/mo/demo/10/"a"', () => '{"lines":[]}');
    expect(cacheLog.inserts).toEqual([
      { key: 'crates-cooldown/scan-v1/de/mo/demo/10/"a"', maxAge: KEPT_SCAN_SECONDS * 1000 },
    ]);
    expect(await scans.get('scan-v1/de/mo/demo/10/"a"')).toBe('{"lines":[]}');
    expect(cacheLog.simpleLookups).toHaveLength(2);
    // Past its day a lookup without a transaction may still find it (as Viceroy's does): the key names the bytes.
  });

  it("makes the value only when it stores it, after the answer, and stores nothing for a null", async () => {
    const later: (() => void)[] = [];
    const scans = keptScans((work) => later.push(work));
    let made = 0;
    await scans.put('scan-v1/de/mo/demo/10/"b"', () => {
      made++;
      return '{"lines":[]}';
    });
    await scans.put('scan-v1/de/mo/demo/10/"c"', () => null);
    expect(made).toBe(0);
    expect(cacheLog.inserts).toEqual([]);
    for (const work of later) work();
    expect(made).toBe(1);
    expect(cacheLog.inserts.map((insert) => insert.key)).toEqual(['crates-cooldown/scan-v1/de/mo/demo/10/"b"']);
  });
});
