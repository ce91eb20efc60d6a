import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { IndexLine, ScannedIndexFile } from "../../src/core/index-file.ts";
import { type FilteredIndexFile, filterIndexFile } from "../../src/core/index-filter.ts";
import { defaultRules, type HiddenReason, type Verdict, type VisibilityRules } from "../../src/core/policy.ts";
import { exceptionsArbitrary, generatedRecord, trustArbitrary } from "../support/rule-arbitraries.ts";
import { windowOf } from "../support/window-of.ts";

/*
 * `filterIndexFile` counts most lines as kept without making their verdicts (a fast pass), and makes every verdict
 * only when asked. The promise: everything it reports (kept, hidden by reason, which lines are hidden, the next
 * moments, the unknown ages) is what the verdicts say, for any file, record, policy, window and moment. Generated
 * here with every rule in play: database times before and after pubtime, missing times, yanked lines in both yanked
 * modes, unknown ages in both modes, pre-pubtime inference, exceptions (in force and expired), security-fix
 * admissions, and trust signals and unknown trust data in both modes.
 */

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0) / 1000;
const DAY = 86_400;
const VERSIONS = ["0.1.0", "0.2.0", "1.0.0", "1.0.1", "1.1.0", "1.2.0-rc.1", "1.2.0", "2.0.0"];

/** What the verdicts say, computed the plain way. */
function fromVerdicts(verdicts: readonly Verdict[]) {
  const hidden: Record<HiddenReason, number> = {
    "too-young": 0,
    yanked: 0,
    "unknown-publish-time": 0,
    "unreadable-line": 0,
    "trust-signal": 0,
    "trust-data-unknown": 0,
  };
  const hiddenLines: number[] = [];
  let nextVisibleAt: number | null = null;
  let nextChangeAt: number | null = null;
  const earliest = (a: number | null, b: number) => (a === null || b < a ? b : a);
  verdicts.forEach((verdict, index) => {
    if (verdict.visible) {
      if (verdict.grant?.kind === "exception") nextChangeAt = earliest(nextChangeAt, verdict.grant.expires);
      return;
    }
    hidden[verdict.reason]++;
    hiddenLines.push(index);
    if (verdict.reason === "too-young" || verdict.reason === "trust-signal") {
      nextVisibleAt = earliest(nextVisibleAt, verdict.visibleAt);
      nextChangeAt = earliest(nextChangeAt, verdict.visibleAt);
    }
  });
  return { kept: verdicts.length - hiddenLines.length, hidden, hiddenLines, nextVisibleAt, nextChangeAt };
}

function reported(filtered: FilteredIndexFile) {
  const { kept, hidden, hiddenLines, nextVisibleAt, nextChangeAt } = filtered;
  return { kept, hidden, hiddenLines: [...hiddenLines], nextVisibleAt, nextChangeAt };
}

const time = fc.option(fc.integer({ min: NOW - 60 * DAY, max: NOW + DAY }), { freq: 5 });
const line = fc.record({
  version: fc.option(fc.constantFrom(...VERSIONS), { freq: 12 }),
  yanked: fc.boolean(),
  pubtime: time,
  hasPubtimeKey: fc.boolean(),
});
const scenario = fc.record({
  lines: fc.array(line, { maxLength: 12 }),
  stored: fc.dictionary(fc.constantFrom(...VERSIONS), fc.integer({ min: NOW - 60 * DAY, max: NOW + DAY })),
  withRecord: fc.boolean(),
  /** The record as the edge reads it: encoded and decoded (times read in place), or as the Node home builds it. */
  decoded: fc.boolean(),
  advisories: fc.option(fc.constant([{ id: "RUSTSEC-2026-0001", patched: [">= 1.0.1"] }]), { freq: 2 }),
  trust: trustArbitrary(VERSIONS, NOW),
  exceptions: exceptionsArbitrary(VERSIONS, NOW),
  yanked: fc.constantFrom<"hide" | "keep">("hide", "keep"),
  unknownPublishTime: fc.constantFrom<"hide" | "show">("hide", "show"),
  inference: fc.boolean(),
  securityFixes: fc.boolean(),
  trustEnabled: fc.boolean(),
  trustZeroWait: fc.boolean(),
  unknownTrustData: fc.constantFrom<"hide" | "ignore">("hide", "ignore"),
  window: fc.constantFrom("1d", "7d", "14d", "12h"),
});

describe("filterIndexFile's fast pass", () => {
  it("reports exactly what the verdicts say, with every rule in play", () => {
    fc.assert(
      fc.property(scenario, (s) => {
        let at = 0;
        const lines: IndexLine[] = s.lines.map((l) => {
          const start = at;
          at += 10;
          return { start, end: at, ...l, hasPubtimeKey: l.hasPubtimeKey || l.pubtime !== null };
        });
        const file: ScannedIndexFile = {
          text: "x".repeat(at),
          textLength: at,
          lines,
          linesWithoutPubtime: lines.filter((l) => l.pubtime === null).length,
          linesWithPubtimeKey: lines.filter((l) => l.hasPubtimeKey).length,
        };
        const record = s.withRecord
          ? generatedRecord(Object.entries(s.stored), s.advisories, s.trust, s.decoded)
          : null;
        const base = defaultRules(true);
        const rules: VisibilityRules = {
          ...base,
          yanked: s.yanked,
          unknownPublishTime: s.unknownPublishTime,
          exceptions: s.exceptions,
          prePubtimeInference: { ...base.prePubtimeInference, enabled: s.inference },
          securityFixes: { ...base.securityFixes, enabled: s.securityFixes },
          trust: {
            enabled: s.trustEnabled,
            unknownData: s.unknownTrustData,
            extraWait: s.trustZeroWait
              ? { "new-publisher": 0, "trusted-publishing-downgrade": 0, "recent-owner": 7 * DAY }
              : base.trust.extraWait,
          },
        };
        const filtered = filterIndexFile("demo", file, record, windowOf(s.window), NOW, rules);
        // Asked first, before the verdicts exist; then compared with what the verdicts say.
        const report = reported(filtered);
        const again = filterIndexFile("demo", file, record, windowOf(s.window), NOW, rules);
        expect(report).toEqual(fromVerdicts(again.verdicts));
        expect(filtered.verdicts).toHaveLength(lines.length);
        expect(filtered.unchanged).toBe(report.hiddenLines.length === 0);
      }),
      { numRuns: 5_000 },
    );
  });

  it("counts a plain old line as kept without making its verdict", () => {
    const lines: IndexLine[] = [
      { start: 0, end: 10, version: "1.0.0", yanked: false, pubtime: NOW - 30 * DAY, hasPubtimeKey: true },
    ];
    const file: ScannedIndexFile = {
      text: "x".repeat(10),
      textLength: 10,
      lines,
      linesWithoutPubtime: 0,
      linesWithPubtimeKey: 1,
    };
    const filtered = filterIndexFile("demo", file, null, windowOf("7d"), NOW, defaultRules(false));
    expect(filtered.kept).toBe(1);
    expect(filtered.hiddenLines).toEqual([]);
    expect(filtered.verdicts[0]).toMatchObject({ visible: true, grant: null });
  });
});
