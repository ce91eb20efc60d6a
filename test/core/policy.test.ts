import { describe, expect, it } from "vitest";
import type { IndexLine } from "../../src/core/index-file.ts";
import {
  CRATES_IO_PUBTIME_SWITCH_ON,
  decideVisibility,
  defaultRules,
  resolvePublishTime,
} from "../../src/core/policy.ts";
import { DAY, HOUR } from "../support/in-memory-ports.ts";
import { windowOf } from "../support/window-of.ts";

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0) / 1000;
const RULES = defaultRules(false);
const line = (fields: Partial<IndexLine>): IndexLine => ({
  start: 0,
  end: 1,
  version: "1.0.0",
  yanked: false,
  pubtime: null,
  hasPubtimeKey: false,
  ...fields,
});
const window = windowOf;

describe("resolvePublishTime", () => {
  it("uses pubtime when the database knows nothing", () => {
    expect(resolvePublishTime(line({ pubtime: 100 }), undefined, null)).toEqual({ at: 100, source: "pubtime" });
  });
  it("takes the later of pubtime and the database's time", () => {
    expect(resolvePublishTime(line({ pubtime: 100 }), 200, null)).toEqual({ at: 200, source: "database" });
    expect(resolvePublishTime(line({ pubtime: 300 }), 200, null)).toEqual({ at: 300, source: "pubtime" });
  });
  it("uses the database when the line has no pubtime", () => {
    expect(resolvePublishTime(line({}), 200, 999)).toEqual({ at: 200, source: "database" });
  });
  it("falls back to the inferred bound only when nothing else is known", () => {
    expect(resolvePublishTime(line({}), undefined, 999)).toEqual({ at: 999, source: "pre-pubtime-inference" });
  });
  it("knows nothing when nothing is known", () => {
    expect(resolvePublishTime(line({}), undefined, null)).toBeNull();
  });
});

describe("decideVisibility", () => {
  it("hides a version published 2 days ago under /3d/, until the moment it turns 3 days old", () => {
    const published = { at: NOW - 2 * DAY, source: "pubtime" as const };
    expect(decideVisibility(line({}), published, window("3d"), NOW, RULES)).toEqual({
      visible: false,
      reason: "too-young",
      publishedAt: published,
      visibleAt: NOW + DAY,
      grant: null,
    });
    expect(decideVisibility(line({}), published, window("3d"), NOW + DAY - 1, RULES).visible).toBe(false);
    expect(decideVisibility(line({}), published, window("3d"), NOW + DAY, RULES).visible).toBe(true);
  });
  it("shows a version published 2 days ago under /1d/ and /47h/, not under /49h/", () => {
    const published = { at: NOW - 2 * DAY, source: "pubtime" as const };
    expect(decideVisibility(line({}), published, window("1d"), NOW, RULES).visible).toBe(true);
    expect(decideVisibility(line({}), published, window("47h"), NOW, RULES).visible).toBe(true);
    expect(decideVisibility(line({}), published, window("49h"), NOW, RULES).visible).toBe(false);
  });
  it("hides yanked versions however old", () => {
    const published = { at: NOW - 400 * DAY, source: "pubtime" as const };
    expect(decideVisibility(line({ yanked: true }), published, window("1h"), NOW, RULES)).toEqual({
      visible: false,
      reason: "yanked",
      publishedAt: published,
    });
  });
  it("hides a version of unknown age (fail closed)", () => {
    expect(decideVisibility(line({}), null, window("1h"), NOW, RULES)).toEqual({
      visible: false,
      reason: "unknown-publish-time",
    });
  });
  it("hides an unreadable line", () => {
    expect(decideVisibility(line({ version: null }), { at: 0, source: "pubtime" }, window("1h"), NOW, RULES)).toEqual({
      visible: false,
      reason: "unreadable-line",
    });
  });
  it("shows a version exactly at its window boundary, and treats a future pubtime as too young", () => {
    expect(decideVisibility(line({}), { at: NOW - HOUR, source: "pubtime" }, window("1h"), NOW, RULES).visible).toBe(
      true,
    );
    expect(decideVisibility(line({}), { at: NOW + HOUR, source: "pubtime" }, window("1h"), NOW, RULES)).toMatchObject({
      reason: "too-young",
      visibleAt: NOW + 2 * HOUR,
    });
  });
});

describe("defaultRules", () => {
  it("infers pre-pubtime files only for crates.io itself", () => {
    expect(defaultRules(true).prePubtimeInference).toEqual({
      enabled: true,
      switchedOnBy: CRATES_IO_PUBTIME_SWITCH_ON,
    });
    expect(defaultRules(false).prePubtimeInference.enabled).toBe(false);
  });
  it("puts the switch-on bound after crates.io's mid-January 2026 roll-out, never before", () => {
    expect(CRATES_IO_PUBTIME_SWITCH_ON).toBeGreaterThanOrEqual(Date.UTC(2026, 0, 21) / 1000);
  });
});
