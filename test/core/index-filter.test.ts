import { describe, expect, it } from "vitest";
import { scanIndexFile } from "../../src/core/index-file.ts";
import { filterIndexFile, needsPublishTimes } from "../../src/core/index-filter.ts";
import { CRATES_IO_PUBTIME_SWITCH_ON, defaultRules } from "../../src/core/policy.ts";
import type { CrateRecord } from "../../src/core/publish-times.ts";
import { DAY, HOUR, indexLine } from "../support/in-memory-ports.ts";
import { windowOf } from "../support/window-of.ts";

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0) / 1000;
const w = windowOf;
const record = (entries: Record<string, number>): CrateRecord => ({
  crate: "foo",
  versions: new Map(Object.entries(entries)),
});
const OFF = defaultRules(false);
const NO_FIXES = { ...OFF, securityFixes: { enabled: false, floor: 3600 } };

describe("filterIndexFile", () => {
  const old = indexLine({ name: "foo", vers: "1.0.0", pubtime: NOW - 30 * DAY });
  const yanked = indexLine({ name: "foo", vers: "1.0.1", yanked: true, pubtime: NOW - 20 * DAY });
  const young = indexLine({ name: "foo", vers: "1.1.0", pubtime: NOW - 2 * DAY });
  const younger = indexLine({ name: "foo", vers: "1.2.0", pubtime: NOW - 3 * HOUR });

  it("keeps old lines byte for byte and in order, dropping young and yanked ones", () => {
    const result = filterIndexFile("foo", scanIndexFile(old + yanked + young + younger), null, w("7d"), NOW, OFF);
    expect(result.body).toBe(old);
    expect(result.kept).toBe(1);
    expect(result.hidden).toEqual({
      "too-young": 2,
      yanked: 1,
      "unknown-publish-time": 0,
      "unreadable-line": 0,
      "trust-signal": 0,
      "trust-data-unknown": 0,
    });
    expect(result.nextVisibleAt).toBe(NOW - 2 * DAY + 7 * DAY);
    expect(result.unchanged).toBe(false);
  });

  it("returns the upstream text itself when nothing is hidden", () => {
    const text = old + young;
    const result = filterIndexFile("foo", scanIndexFile(text), null, w("1d"), NOW, OFF);
    expect(result.unchanged).toBe(true);
    expect(result.body).toBe(text);
    expect(result.nextVisibleAt).toBeNull();
  });

  it("counts the kept lines a grant showed, by kind, as the verdicts say", () => {
    const unknown = indexLine({ name: "foo", vers: "1.3.0" });
    const rules = {
      ...OFF,
      unknownPublishTime: "show" as const,
      exceptions: [{ crate: "foo", version: "1.1.0", reason: "needed now", expires: NOW + DAY }],
    };
    const result = filterIndexFile("foo", scanIndexFile(old + yanked + young + unknown), null, w("7d"), NOW, rules);
    expect(result.kept).toBe(3);
    expect(result.keptBy).toEqual({ exception: 1, "security-fix": 0, "unknown-publish-time-shown": 1 });
    const fromVerdicts = { exception: 0, "security-fix": 0, "unknown-publish-time-shown": 0 };
    for (const verdict of result.verdicts)
      if (verdict.visible && verdict.grant !== null) fromVerdicts[verdict.grant.kind]++;
    expect(result.keptBy).toEqual(fromVerdicts);
  });

  it("gives one verdict per line in index order", () => {
    const result = filterIndexFile("foo", scanIndexFile(old + yanked + young), null, w("3d"), NOW, OFF);
    expect(result.verdicts.map((v) => (v.visible ? "visible" : v.reason))).toEqual(["visible", "yanked", "too-young"]);
  });

  it("hides lines without pubtime unless the database knows their time", () => {
    const a = indexLine({ name: "foo", vers: "1.0.0" });
    const b = indexLine({ name: "foo", vers: "2.0.0" });
    const file = scanIndexFile(a + b);
    expect(needsPublishTimes(file, NO_FIXES)).toBe(true);
    const result = filterIndexFile("foo", file, record({ "1.0.0": NOW - 10 * DAY }), w("7d"), NOW, OFF);
    expect(result.body).toBe(a);
    expect(result.verdicts[1]).toEqual({ visible: false, reason: "unknown-publish-time" });
  });

  it("lets a later database time hold back a line whose pubtime is old", () => {
    const result = filterIndexFile("foo", scanIndexFile(old), record({ "1.0.0": NOW - DAY }), w("7d"), NOW, OFF);
    expect(result.kept).toBe(0);
    expect(result.verdicts[0]).toMatchObject({ reason: "too-young", publishedAt: { source: "database" } });
  });

  it("needs the database for every file while security-fix admission is on (admissions live in the record)", () => {
    expect(needsPublishTimes(scanIndexFile(old + young), OFF)).toBe(true);
  });

  it("does not need the database when every line carries a valid pubtime and admission is off", () => {
    expect(needsPublishTimes(scanIndexFile(old + young), NO_FIXES)).toBe(false);
  });

  describe("pre-pubtime inference (switchable, crates.io only)", () => {
    const a = indexLine({ name: "foo", vers: "1.0.0" });
    const b = indexLine({ name: "foo", vers: "2.0.0" });

    it("shows versions of a file with no pubtime at all as older than the switch-on, when on", () => {
      const result = filterIndexFile("foo", scanIndexFile(a + b), null, w("30d"), NOW, defaultRules(true));
      expect(result.body).toBe(a + b);
      expect(result.verdicts[0]).toEqual({
        visible: true,
        publishedAt: { at: CRATES_IO_PUBTIME_SWITCH_ON, source: "pre-pubtime-inference" },
        grant: null,
      });
    });

    it("still hides them within the window right after the switch-on", () => {
      const justAfter = CRATES_IO_PUBTIME_SWITCH_ON + DAY;
      const result = filterIndexFile("foo", scanIndexFile(a), null, w("7d"), justAfter, defaultRules(true));
      expect(result.kept).toBe(0);
    });

    it("does not apply when off", () => {
      expect(filterIndexFile("foo", scanIndexFile(a + b), null, w("7d"), NOW, OFF).kept).toBe(0);
    });

    it("does not apply to a file where some line carries pubtime (an anomaly)", () => {
      const result = filterIndexFile("foo", scanIndexFile(a + young), null, w("1d"), NOW, defaultRules(true));
      expect(result.verdicts[0]).toEqual({ visible: false, reason: "unknown-publish-time" });
    });

    it("does not apply where some line carries a malformed pubtime", () => {
      const bad = indexLine({ name: "foo", vers: "3.0.0", pubtime: "2026-01-01 00:00:00" });
      expect(filterIndexFile("foo", scanIndexFile(a + bad), null, w("1d"), NOW, defaultRules(true)).kept).toBe(0);
    });

    it("prefers the database's time over the inferred bound", () => {
      const result = filterIndexFile(
        "foo",
        scanIndexFile(a),
        record({ "1.0.0": NOW - DAY }),
        w("7d"),
        NOW,
        defaultRules(true),
      );
      expect(result.verdicts[0]).toMatchObject({ reason: "too-young", publishedAt: { source: "database" } });
    });
  });
});
