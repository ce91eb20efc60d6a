import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type IndexScanOptions, scanIndexFile } from "../../src/core/index-file.ts";
import { type FilteredIndexFile, filterIndexFile } from "../../src/core/index-filter.ts";
import { filterWithLineShapes, filterWithPlainLines } from "../../src/core/plain-line-filter.ts";
import { defaultRules, type VisibilityRules } from "../../src/core/policy.ts";
import { decodeCrateRecord, encodeCrateRecord } from "../../src/core/publish-times.ts";
import { decodeKept, encodeKeptShapes } from "../../src/core/scan-cache.ts";
import { formatRfc3339 } from "../../src/core/time.ts";
import { ENGINE_INDEX_SCAN } from "../../src/edge/engine-index-scan.ts";
import { exceptionsArbitrary, generatedRecord, trustArbitrary } from "../support/rule-arbitraries.ts";
import { syntheticIndexFile } from "../support/synthetic-index-file.ts";
import { windowOf } from "../support/window-of.ts";

/*
 * `filterWithPlainLines` counts a big file's plain lines without reading them and hands the others to the scanner and
 * the filter. The promise: whenever it answers, the answer is what scanning and filtering the whole file gives —
 * kept, hidden by reason, which lines are hidden and where, the next moments, the unknown ages, the body, and (asked
 * for) every line and every verdict — for any file of valid JSON lines, record, policy, window and moment.
 */

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0) / 1000;
const DAY = 86_400;
const VERSIONS = ["0.1.0", "0.2.0", "1.0.0", "1.0.1", "1.1.0", "1.2.0-rc.1", "1.2.0", "2.0.0", "2.0.1+build.5"];

/** Everything a caller can see of a filtered file. */
function seen(filtered: FilteredIndexFile) {
  return {
    kept: filtered.kept,
    hidden: filtered.hidden,
    keptBy: filtered.keptBy,
    hiddenLines: filtered.hiddenLines,
    hiddenSpans: filtered.hiddenSpans,
    lineCount: filtered.lineCount,
    unchanged: filtered.unchanged,
    nextVisibleAt: filtered.nextVisibleAt,
    nextChangeAt: filtered.nextChangeAt,
    unknownAges: filtered.unknownAges,
    body: filtered.body,
  };
}

/** One line, as crates.io writes it or bent in ways a valid JSON line may be. */
const line = fc.record({
  version: fc.constantFrom(...VERSIONS, '1.0.0\\"x', "1.0.0\\\\", "3.0.0-é"),
  yanked: fc.boolean(),
  pubtime: fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: NOW - 60 * DAY, max: NOW + 2 * DAY }).map(formatRfc3339) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        "2026-02-30T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "1999-01-01T00:00:00",
        "2026-11-22T12:00:00.000Z",
        "2026-11-22 12:00:00Z",
        "19990101T000000Z-xx",
        "2024-02-29T00:00:00Z",
        "2025-02-29T00:00:00Z",
      ),
    },
    { weight: 1, arbitrary: fc.constant(null) },
  ),
  /** Where pubtime and yanked sit, and what else is there. */
  shape: fc.constantFrom("crates-io", "with-v", "crlf", "pubtime-first", "nested-pubtime", "meta-after-yanked"),
  deps: fc.constantFrom("[]", '[{"name":"serde","req":"^1","features":["pubtime"]}]', '[{"name":"ü","req":"*"}]'),
});

type GeneratedLine = typeof line extends fc.Arbitrary<infer T> ? T : never;

function lineText(l: GeneratedLine): string {
  const head = `{"name":"demo","vers":"${l.version}","deps":${l.deps},"cksum":"00","features":{}`;
  const pubtime = l.pubtime === null ? "" : `,"pubtime":"${l.pubtime}"`;
  const yanked = `,"yanked":${l.yanked}`;
  switch (l.shape) {
    case "crates-io":
      return `${head}${yanked},"links":null${pubtime}}`;
    case "with-v":
      return `${head}${yanked}${pubtime},"v":2}`;
    case "crlf":
      return `${head}${yanked}${pubtime}}\r`;
    case "pubtime-first":
      return `${head}${pubtime}${yanked},"links":null}`;
    case "nested-pubtime":
      return `${head},"meta":{"pubtime":"2099-01-01T00:00:00Z"}${yanked}${pubtime}}`;
    case "meta-after-yanked":
      return `${head}${yanked},"meta":{"yanked":false,"pubtime":"1"},"q":true,"rr":"s"}`;
  }
}

const scenario = fc.record({
  /** Mostly plain lines, so that the filter applies; then the generated ones, anywhere. */
  plainLines: fc.integer({ min: 12, max: 60 }),
  lines: fc.array(fc.tuple(fc.nat(), line), { maxLength: 10 }),
  finalNewline: fc.boolean(),
  stored: fc.dictionary(fc.constantFrom(...VERSIONS), fc.integer({ min: NOW - 60 * DAY, max: NOW + DAY })),
  /** The record's keys: in the file's order, reversed, or only some of them. */
  order: fc.constantFrom("file", "reversed"),
  advisories: fc.option(fc.constant([{ id: "RUSTSEC-2026-0001", patched: [">= 1.0.1"] }]), { freq: 4 }),
  trust: trustArbitrary(VERSIONS, NOW),
  exceptions: exceptionsArbitrary(VERSIONS, NOW),
  yanked: fc.constantFrom<"hide" | "keep">("hide", "keep"),
  unknownPublishTime: fc.constantFrom<"hide" | "show">("hide", "show"),
  securityFixes: fc.boolean(),
  trustEnabled: fc.boolean(),
  window: fc.constantFrom("1d", "7d", "14d", "12h"),
  engineScan: fc.boolean(),
  /** The record as the edge reads it (encoded, decoded: times read in place), or as the Node home builds it. */
  decoded: fc.boolean(),
  now: fc.constantFrom(NOW, NOW + 0.5),
});

describe("filterWithPlainLines", () => {
  it("answers what scanning and filtering the whole file gives, whenever it answers, from the text or kept shapes", () => {
    let answered = 0;
    let runs = 0;
    let expectedFromKept = 0;
    fc.assert(
      fc.property(scenario, (s) => {
        runs++;
        // Plain lines: old, not yanked, the record holding their time.
        const plain = syntheticIndexFile({
          crate: "demo",
          versions: s.plainLines,
          depsPerLine: 2,
          now: NOW - 30 * DAY,
          spacingSeconds: 3_600,
          yankEvery: 0,
        });
        const texts = plain.text.split("\n").filter((text) => text !== "");
        for (const [at, generated] of s.lines) texts.splice(at % (texts.length + 1), 0, lineText(generated));
        const text = texts.join("\n") + (s.finalNewline ? "\n" : "");
        const times = new Map<string, number>();
        plain.versions.forEach((version, index) => {
          times.set(version, plain.times[index] as number);
        });
        for (const [version, at] of Object.entries(s.stored)) times.set(version, at);
        const ordered = s.order === "file" ? [...times] : [...times].reverse();
        const record = generatedRecord(ordered, s.advisories, s.trust, s.decoded);
        const base = defaultRules(true);
        const rules: VisibilityRules = {
          ...base,
          yanked: s.yanked,
          unknownPublishTime: s.unknownPublishTime,
          exceptions: s.exceptions,
          securityFixes: { ...base.securityFixes, enabled: s.securityFixes },
          trust: { ...base.trust, enabled: s.trustEnabled },
        };
        const options: IndexScanOptions = s.engineScan ? ENGINE_INDEX_SCAN : {};
        const window = windowOf(s.window);
        const found = filterWithPlainLines("demo", text, record, window, s.now, rules, options);
        if (found === null) return;
        answered++;
        const file = scanIndexFile(text, options);
        const whole = filterIndexFile("demo", file, record, window, s.now, rules);
        expect(seen(found.filtered)).toEqual(seen(whole));
        expect(found.file.textLength).toBe(file.textLength);
        expect(found.file.lines).toEqual(file.lines);
        expect(found.filtered.verdicts).toEqual(whole.verdicts);

        // The same from the line shapes kept for the bytes (an ASCII body), read back as a later request reads them.
        const bytes = new TextEncoder().encode(text);
        const value = encodeKeptShapes(found.shapes, text, bytes);
        if (value === null) return;
        const kept = decodeKept(value, bytes);
        if (kept === null || !("shapes" in kept)) throw new Error("kept shapes not read back");
        // Its readings of the lines not plain in shape are what scanning the whole file reads.
        const notPlainInShape = file.lines.filter((_, index) => kept.shapes.versions[index] === null);
        expect(kept.shapes.readings).toEqual(notPlainInShape);
        const again = filterWithLineShapes(
          "demo",
          kept.shapes,
          { text: null, bytes },
          record,
          window,
          s.now,
          rules,
          options,
        );
        if (again === null) throw new Error("kept shapes declined where the text was answered");
        expectedFromKept++;
        expect(seen(again.filtered)).toEqual(seen(whole));
        expect(again.file.lines).toEqual(file.lines);
        expect(again.filtered.verdicts).toEqual(whole.verdicts);
      }),
      { numRuns: 3_000 },
    );
    // The property says nothing about runs it declines: most must be answered.
    expect(answered).toBeGreaterThan(runs / 2);
    // Non-ASCII bodies keep no shapes; the others must be exercised too.
    expect(expectedFromKept).toBeGreaterThan(answered / 5);
  });

  it("does not take a yanked line for plain when a nested object ends the line the way crates.io's end does", () => {
    // Top-level `yanked: true`; the line's last members are a nested object's `yanked:false` and a `pubtime` whose
    // 20 characters hold quotes, so positions alone would read the nested values.
    const plain = syntheticIndexFile({ crate: "demo", versions: 8, depsPerLine: 1, now: NOW - 30 * DAY, yankEvery: 0 });
    const trap =
      '{"name":"demo","vers":"9.0.0","yanked":true,"deps":[],"x":{"a":{},"yanked":false,"pubtime":"1"},"q":true,"rr":"s"}';
    const text = `${plain.text}${trap}\n`;
    const record = decodeCrateRecord(
      encodeCrateRecord({
        crate: "demo",
        versions: new Map([...plain.versions.map((v, i) => [v, plain.times[i] as number] as const), ["9.0.0", 0]]),
      }),
    );
    const rules = defaultRules(true);
    const found = filterWithPlainLines("demo", text, record, windowOf("7d"), NOW, rules);
    expect(found?.filtered.hiddenLines).toEqual([8]);
    expect(found?.filtered.hidden.yanked).toBe(1);
  });

  it("reads a 4,000-line file's plain lines in place: only its young and yanked lines are read in full", () => {
    const big = syntheticIndexFile({ crate: "big", versions: 4_000, depsPerLine: 4, now: NOW });
    const record = decodeCrateRecord(
      encodeCrateRecord({
        crate: "big",
        versions: new Map(big.versions.map((v, i) => [v, big.times[i] as number] as const)),
      }),
    );
    const rules = defaultRules(true);
    const found = filterWithPlainLines("big", big.text, record, windowOf("7d"), NOW, rules, ENGINE_INDEX_SCAN);
    const whole = filterIndexFile("big", scanIndexFile(big.text), record, windowOf("7d"), NOW, rules);
    expect(found).not.toBeNull();
    expect(seen(found?.filtered as FilteredIndexFile)).toEqual(seen(whole));
    expect(found?.filtered.kept).toBeGreaterThan(3_500);
  });

  it("declines what it cannot decide alone: no record, advisories weighed by admission, another shape of line", () => {
    const big = syntheticIndexFile({ crate: "big", versions: 200, depsPerLine: 1, now: NOW });
    const versions = new Map(big.versions.map((v, i) => [v, big.times[i] as number] as const));
    const rules = defaultRules(true);
    const window = windowOf("7d");
    expect(filterWithPlainLines("big", big.text, null, window, NOW, rules)).toBeNull();
    const advised = { crate: "big", versions, advisories: [{ id: "RUSTSEC-2026-0001", patched: [">= 1.0.0"] }] };
    expect(filterWithPlainLines("big", big.text, advised, window, NOW, rules)).toBeNull();
    expect(
      filterWithPlainLines("big", big.text, advised, window, NOW, {
        ...rules,
        securityFixes: { ...rules.securityFixes, enabled: false },
      }),
    ).not.toBeNull();
    expect(filterWithPlainLines("big", ` ${big.text}`, { crate: "big", versions }, window, NOW, rules)).toBeNull();
    // Too few plain lines to pay: the record knows none of the versions.
    expect(filterWithPlainLines("big", big.text, { crate: "big", versions: new Map() }, window, NOW, rules)).toBeNull();
  });
});
