import { describe, expect, it } from "vitest";
import { createCrateDecider } from "../../src/core/crate-decider.ts";
import { scanIndexFile } from "../../src/core/index-file.ts";
import { filterIndexFile } from "../../src/core/index-filter.ts";
import type { Phase } from "../../src/core/phase-timings.ts";
import { filterWithPlainLines, type PlainLineAnswer } from "../../src/core/plain-line-filter.ts";
import { defaultRules } from "../../src/core/policy.ts";
import type { ScanCache } from "../../src/core/ports.ts";
import {
  decodeKeptScan,
  encodeKeptScan,
  encodeKeptShapes,
  SCAN_CACHE_MIN_BYTES,
  scanCacheKey,
} from "../../src/core/scan-cache.ts";
import { DAY, FixedClock, InMemoryPublishTimes, InMemoryUpstream, indexLine } from "../support/in-memory-ports.ts";
import { windowOf } from "../support/window-of.ts";

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0) / 1000;
/** Old versions enough to make the body worth keeping a scan of (`SCAN_CACHE_MIN_BYTES`). */
const OLD = Array.from({ length: 400 }, (_, i) =>
  indexLine({ name: "demo", vers: `0.0.${i}`, pubtime: NOW - 90 * DAY }),
).join("");
const TEXT =
  OLD +
  indexLine({ name: "demo", vers: "1.0.0", pubtime: NOW - 30 * DAY }) +
  indexLine({ name: "demo", vers: "1.0.1", yanked: true, pubtime: NOW - 20 * DAY }) +
  indexLine({ name: "demo", vers: "1.1.0", pubtime: NOW - DAY });
const BYTES = new TextEncoder().encode(TEXT);

class RecordingScanCache implements ScanCache {
  readonly values = new Map<string, string>();
  readonly gets: string[] = [];
  readonly puts: string[] = [];
  async get(key: string) {
    this.gets.push(key);
    return this.values.get(key) ?? null;
  }
  async put(key: string, make: () => string | null) {
    const value = make();
    if (value === null) return;
    this.puts.push(key);
    this.values.set(key, value);
  }
}

describe("kept scans (scan-cache.ts)", () => {
  it("are keyed by a strong ETag, the path and the length, and never by a weak or missing tag", () => {
    const length = SCAN_CACHE_MIN_BYTES;
    expect(scanCacheKey("de/mo/demo", '"abc"', length)).toBe(`scan-v1/de/mo/demo/${length}/"abc"`);
    expect(scanCacheKey("de/mo/demo", 'W/"abc"', length)).toBeNull();
    expect(scanCacheKey("de/mo/demo", null, length)).toBeNull();
  });

  it("are not kept for a small body, which scans faster than a kept scan is read", () => {
    expect(scanCacheKey("de/mo/demo", '"abc"', SCAN_CACHE_MIN_BYTES - 1)).toBeNull();
    expect(BYTES.byteLength).toBeGreaterThanOrEqual(SCAN_CACHE_MIN_BYTES);
  });

  it("give back the same lines and counts as scanning, and the text only when asked", () => {
    const scanned = scanIndexFile(TEXT);
    const kept = decodeKeptScan(encodeKeptScan(scanned, BYTES) as string, BYTES);
    expect(kept?.lines).toEqual(scanned.lines);
    expect(kept?.textLength).toBe(TEXT.length);
    expect(kept?.linesWithoutPubtime).toBe(scanned.linesWithoutPubtime);
    expect(kept?.linesWithPubtimeKey).toBe(scanned.linesWithPubtimeKey);
    expect(kept?.text).toBe(TEXT);
  });

  it("are not kept for a body that is not ASCII (offsets in characters would not be offsets in bytes)", () => {
    const text = '{"name":"demo","vers":"1.0.0-é","yanked":false}\n';
    expect(encodeKeptScan(scanIndexFile(text), new TextEncoder().encode(text))).toBeNull();
  });

  it("are refused when they do not fit the bytes at hand: another length, lines not ending at a newline", () => {
    const value = encodeKeptScan(scanIndexFile(TEXT), BYTES) as string;
    expect(decodeKeptScan(value, BYTES.subarray(0, BYTES.length - 1))).toBeNull();
    const shifted = new TextEncoder().encode(`x${TEXT.slice(0, -1)}`);
    expect(shifted.byteLength).toBe(BYTES.byteLength);
    expect(decodeKeptScan(value, shifted)).toBeNull();
    expect(decodeKeptScan("not json", BYTES)).toBeNull();
    expect(decodeKeptScan('{"lines":{}}', BYTES)).toBeNull();
  });
});

describe("the decider with a scan cache", () => {
  const decide = (upstream: InMemoryUpstream, scanCache: ScanCache) =>
    createCrateDecider({
      upstream,
      publishTimes: new InMemoryPublishTimes(),
      rules: defaultRules(false),
      clock: new FixedClock(NOW),
      scanCache,
    }).decide;

  it("scans a body once and reads the kept scan for the same bytes under any window, deciding alike", async () => {
    const upstream = new InMemoryUpstream().set("de/mo/demo", { body: TEXT, headers: { etag: '"v1"' } });
    const cache = new RecordingScanCache();
    const first = await decide(upstream, cache)("demo", "de/mo/demo", windowOf("7d"), null);
    expect(cache.puts).toHaveLength(1);
    const kept = await decide(upstream, cache)("demo", "de/mo/demo", windowOf("7d"), null);
    const other = await decide(upstream, cache)("demo", "de/mo/demo", windowOf("12h"), null);
    expect(cache.puts).toHaveLength(1);
    expect(cache.gets).toHaveLength(3);
    if (!first.ok || !kept.ok || !other.ok) throw new Error("not decided");
    expect(kept.file.lines).toEqual(first.file.lines);
    expect(kept.filtered.verdicts).toEqual(first.filtered.verdicts);
    expect(kept.filtered.hiddenLines).toEqual([401, 402]);
    expect(other.filtered.hiddenLines).toEqual([401]);
  });

  it("scans again when upstream sends other bytes, and keeps nothing without a strong ETag", async () => {
    const upstream = new InMemoryUpstream().set("de/mo/demo", { body: TEXT, headers: { etag: '"v1"' } });
    const cache = new RecordingScanCache();
    await decide(upstream, cache)("demo", "de/mo/demo", windowOf("7d"), null);
    const longer = TEXT + indexLine({ name: "demo", vers: "1.2.0", pubtime: NOW - 40 * DAY });
    upstream.set("de/mo/demo", { body: longer, headers: { etag: '"v1"' } });
    const changed = await decide(upstream, cache)("demo", "de/mo/demo", windowOf("7d"), null);
    if (!changed.ok) throw new Error("not decided");
    expect(changed.file.lines.slice(400).map((line) => line.version)).toEqual(["1.0.0", "1.0.1", "1.1.0", "1.2.0"]);
    upstream.set("de/mo/demo", { body: TEXT, headers: { etag: 'W/"weak"' } });
    await decide(upstream, cache)("demo", "de/mo/demo", windowOf("7d"), null);
    expect(cache.puts).toHaveLength(2);
  });

  it("scans as if nothing were kept when the cache fails", async () => {
    const upstream = new InMemoryUpstream().set("de/mo/demo", { body: TEXT, headers: { etag: '"v1"' } });
    const failing: ScanCache = {
      get: () => Promise.reject(new Error("cache down")),
      put: () => Promise.reject(new Error("cache down")),
    };
    const decided = await decide(upstream, failing)("demo", "de/mo/demo", windowOf("7d"), null);
    expect(decided.ok && decided.filtered.hiddenLines).toEqual([401, 402]);
  });

  describe("and plain lines found in place for bodies of many lines", () => {
    /** Every version of TEXT (403 lines) in the timestamp store, as the ingest job writes them. */
    const times = () => {
      const store = new InMemoryPublishTimes();
      for (const line of scanIndexFile(TEXT).lines) store.set("demo", line.version as string, line.pubtime as number);
      return store;
    };
    const decideWith = (cache: ScanCache, fromLines: number, phases: Phase[], publishTimes = times()) =>
      createCrateDecider({
        upstream: new InMemoryUpstream().set("de/mo/demo", { body: TEXT, headers: { etag: '"v1"' } }),
        publishTimes,
        rules: defaultRules(false),
        clock: new FixedClock(NOW),
        scanCache: cache,
        plainLines: { fromBytes: SCAN_CACHE_MIN_BYTES, fromLines },
        timings: { add: (phase) => phases.push(phase) },
      }).decide;

    it("answers a body of more lines than the limit from its plain lines and keeps their shapes, not a scan", async () => {
      const cache = new RecordingScanCache();
      const phases: Phase[] = [];
      const first = await decideWith(cache, 402, phases)("demo", "de/mo/demo", windowOf("7d"), null);
      expect(phases).toEqual(expect.arrayContaining(["decode", "plain-lines"]));
      expect(phases).not.toContain("scan");
      expect(cache.puts).toHaveLength(1);
      const record = await times().lookup("demo");
      const found = filterWithPlainLines("demo", TEXT, record, windowOf("7d"), NOW, defaultRules(false));
      expect(found).not.toBeNull();
      expect(cache.values.get(cache.puts[0] as string)).toBe(
        encodeKeptShapes((found as PlainLineAnswer).shapes, TEXT, BYTES),
      );
      // With the reading of its one line not plain in shape (the yanked 1.0.1), as the whole file's scan reads it.
      expect((found as PlainLineAnswer).shapes.readings).toEqual([scanIndexFile(TEXT).lines[401]]);
      if (!first.ok) throw new Error("not decided");
      expect(first.filtered.hiddenLines).toEqual([401, 402]);
    });

    it("answers another window from the kept shapes without decoding the body, as scanning it whole would", async () => {
      const cache = new RecordingScanCache();
      await decideWith(cache, 402, [])("demo", "de/mo/demo", windowOf("7d"), null);
      for (const label of ["12h", "7d", "30d"]) {
        const phases: Phase[] = [];
        const next = await decideWith(cache, 402, phases)("demo", "de/mo/demo", windowOf(label), null);
        expect(phases).toEqual(expect.arrayContaining(["scan-cache", "plain-lines"]));
        expect(phases).not.toContain("decode");
        if (!next.ok) throw new Error("not decided");
        const whole = filterIndexFile(
          "demo",
          scanIndexFile(TEXT),
          await times().lookup("demo"),
          windowOf(label),
          NOW,
          defaultRules(false),
        );
        expect(next.filtered.hiddenLines).toEqual(whole.hiddenLines);
        expect(next.filtered.hiddenSpans).toEqual(whole.hiddenSpans);
        expect(next.filtered.kept).toBe(whole.kept);
        expect(next.filtered.nextChangeAt).toBe(whole.nextChangeAt);
        expect(next.file.lines).toEqual(scanIndexFile(TEXT).lines);
      }
      expect(cache.puts).toHaveLength(1);
    });

    it("applies the record of the moment to kept shapes: a time pushed since, a version it does not know", async () => {
      const cache = new RecordingScanCache();
      await decideWith(cache, 402, [])("demo", "de/mo/demo", windowOf("7d"), null);
      // Since the shapes were kept: 0.0.5's time moved to an hour ago, and 0.0.9 is gone from the record (with trust
      // on, a version the record does not know is held: its trust data is unknown).
      const store = times().set("demo", "0.0.5", NOW - 3_600);
      store.records.get("demo")?.delete("0.0.9");
      store.trust.set("demo", { unknown: new Set(), signals: new Map() });
      const rules = { ...defaultRules(true) };
      const phases: Phase[] = [];
      const decided = await createCrateDecider({
        upstream: new InMemoryUpstream().set("de/mo/demo", { body: TEXT, headers: { etag: '"v1"' } }),
        publishTimes: store,
        rules,
        clock: new FixedClock(NOW),
        scanCache: cache,
        plainLines: { fromBytes: SCAN_CACHE_MIN_BYTES, fromLines: 402 },
        timings: { add: (phase) => phases.push(phase) },
      }).decide("demo", "de/mo/demo", windowOf("7d"), null);
      expect(phases).not.toContain("decode");
      if (!decided.ok) throw new Error("not decided");
      const whole = filterIndexFile(
        "demo",
        scanIndexFile(TEXT),
        await store.lookup("demo"),
        windowOf("7d"),
        NOW,
        rules,
      );
      expect(decided.filtered.hiddenLines).toEqual([5, 9, 401, 402]);
      expect(decided.filtered.hiddenLines).toEqual(whole.hiddenLines);
      expect(decided.filtered.hidden).toEqual(whole.hidden);
      expect(decided.filtered.kept).toBe(whole.kept);
    });

    it("reads kept shapes that do not fit the bytes as a miss", async () => {
      const cache = new RecordingScanCache();
      await decideWith(cache, 402, [])("demo", "de/mo/demo", windowOf("7d"), null);
      const key = cache.puts[0] as string;
      const value = cache.values.get(key) as string;
      const bent = (bend: (shapes: { starts: number[]; readings: { start: number }[] }) => void) => {
        const kept = JSON.parse(value) as { shapes: { starts: number[]; readings: { start: number }[] } };
        bend(kept.shapes);
        return JSON.stringify(kept);
      };
      for (const misfit of [
        // One line's start moved: no longer where a line begins.
        bent((shapes) => {
          shapes.starts[7] = (shapes.starts[7] as number) + 1;
        }),
        // The yanked line's reading said to start elsewhere.
        bent((shapes) => {
          (shapes.readings[0] as { start: number }).start += 1;
        }),
        // A reading that is none.
        bent((shapes) => {
          shapes.readings[0] = null as unknown as { start: number };
        }),
      ]) {
        cache.values.set(key, misfit);
        const phases: Phase[] = [];
        const decided = await decideWith(cache, 402, phases)("demo", "de/mo/demo", windowOf("7d"), null);
        expect(phases).toContain("decode");
        expect(decided.ok && decided.filtered.hiddenLines).toEqual([401, 402]);
      }
    });

    it("scans and keeps a body of no more lines than the limit, as without plain lines", async () => {
      const cache = new RecordingScanCache();
      const phases: Phase[] = [];
      const decided = await decideWith(cache, 403, phases)("demo", "de/mo/demo", windowOf("7d"), null);
      expect(phases).toContain("scan");
      expect(phases).not.toContain("plain-lines");
      expect(cache.values.get(cache.puts[0] as string)).toBe(encodeKeptScan(scanIndexFile(TEXT), BYTES));
      expect(decided.ok && decided.filtered.hiddenLines).toEqual([401, 402]);
    });

    it("reads every line when every verdict will be asked for (explain)", async () => {
      const phases: Phase[] = [];
      const decided = await decideWith(new RecordingScanCache(), 402, phases)(
        "demo",
        "de/mo/demo",
        windowOf("7d"),
        null,
        true,
      );
      expect(phases).toContain("scan");
      expect(phases).not.toContain("plain-lines");
      expect(decided.ok && decided.filtered.hiddenLines).toEqual([401, 402]);
    });
  });
});
