import { describe, expect, it } from "vitest";
import { scanIndexFile } from "../../src/core/index-file.ts";
import { filterIndexFile } from "../../src/core/index-filter.ts";
import { defaultRules, type VisibilityRules } from "../../src/core/policy.ts";
import { DAY, HOUR, indexLine } from "../support/in-memory-ports.ts";
import { windowOf } from "../support/window-of.ts";

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0) / 1000;
const w = windowOf;
const BASE = defaultRules(false);
const rules = (overrides: Partial<VisibilityRules>): VisibilityRules => ({ ...BASE, ...overrides });
const versionsOf = (body: string) =>
  body
    .split("\n")
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { vers: string }).vers);

const OLD = indexLine({ name: "rustls", vers: "0.23.17", pubtime: NOW - 30 * DAY });
const YANKED = indexLine({ name: "rustls", vers: "0.23.16", yanked: true, pubtime: NOW - 40 * DAY });
const FIX = indexLine({ name: "rustls", vers: "0.23.18", pubtime: NOW - 2 * HOUR });
const AFTER_FIX = indexLine({ name: "rustls", vers: "0.23.19", pubtime: NOW - HOUR });
const UNKNOWN = indexLine({ name: "rustls", vers: "0.23.20" });
const ADVISORY = {
  crate: "rustls",
  versions: new Map<string, number>(),
  advisories: [{ id: "RUSTSEC-2026-0042", patched: [">= 0.23.18"] }],
};

describe("yanked = keep", () => {
  it("passes yanked lines on, decided by age like any other", () => {
    const file = scanIndexFile(YANKED + OLD);
    expect(versionsOf(filterIndexFile("rustls", file, null, w("7d"), NOW, rules({ yanked: "keep" })).body)).toEqual([
      "0.23.16",
      "0.23.17",
    ]);
    expect(versionsOf(filterIndexFile("rustls", file, null, w("7d"), NOW, BASE).body)).toEqual(["0.23.17"]);
  });
});

describe("unknown-publish-time = show", () => {
  it("shows a version of unknown age, says so, and keeps the cache lifetime short", () => {
    const result = filterIndexFile(
      "rustls",
      scanIndexFile(OLD + UNKNOWN),
      null,
      w("7d"),
      NOW,
      rules({ unknownPublishTime: "show" }),
    );
    expect(versionsOf(result.body)).toEqual(["0.23.17", "0.23.20"]);
    expect(result.verdicts[1]).toEqual({
      visible: true,
      publishedAt: null,
      grant: { kind: "unknown-publish-time-shown" },
    });
    expect(result.unknownAges).toBe(1);
  });
});

describe("exceptions", () => {
  const exception = {
    crate: "rustls",
    version: "0.23.19",
    reason: "needed for the TLS fix in our gateway",
    expires: NOW + DAY,
  };

  it("let one exact version through every window until it expires, and no other", () => {
    const file = scanIndexFile(OLD + FIX + AFTER_FIX);
    const result = filterIndexFile(
      "rustls",
      file,
      null,
      w("30d"),
      NOW,
      rules({ exceptions: [exception], securityFixes: { enabled: false, floor: HOUR } }),
    );
    expect(versionsOf(result.body)).toEqual(["0.23.17", "0.23.19"]);
    expect(result.verdicts[1]).toMatchObject({ visible: false, reason: "too-young" });
    expect(result.verdicts[2]).toEqual({
      visible: true,
      publishedAt: { at: NOW - HOUR, source: "pubtime" },
      grant: { kind: "exception", reason: exception.reason, expires: exception.expires },
    });
  });

  it("stop applying at the expiry second, and the cache lifetime ends there", () => {
    const file = scanIndexFile(AFTER_FIX);
    const before = filterIndexFile(
      "rustls",
      file,
      null,
      w("7d"),
      exception.expires - 1,
      rules({ exceptions: [exception] }),
    );
    expect(before.kept).toBe(1);
    expect(before.nextChangeAt).toBe(exception.expires);
    const at = filterIndexFile("rustls", file, null, w("7d"), exception.expires, rules({ exceptions: [exception] }));
    expect(at.kept).toBe(0);
  });

  it("apply to the named crate only", () => {
    const other = indexLine({ name: "other", vers: "0.23.19", pubtime: NOW - HOUR });
    expect(
      filterIndexFile("other", scanIndexFile(other), null, w("7d"), NOW, rules({ exceptions: [exception] })).kept,
    ).toBe(0);
  });

  it("show a version of unknown age, but never a yanked one under yanked = hide", () => {
    const unknown = { ...exception, version: "0.23.20" };
    expect(
      filterIndexFile("rustls", scanIndexFile(UNKNOWN), null, w("7d"), NOW, rules({ exceptions: [unknown] })).kept,
    ).toBe(1);
    const yanked = { ...exception, version: "0.23.16" };
    expect(
      filterIndexFile("rustls", scanIndexFile(YANKED), null, w("7d"), NOW, rules({ exceptions: [yanked] })).kept,
    ).toBe(0);
  });
});

describe("security-fix admission", () => {
  it("shows the fixing version after the floor instead of the window; later versions still wait", () => {
    const file = scanIndexFile(OLD + FIX + AFTER_FIX);
    const result = filterIndexFile("rustls", file, ADVISORY, w("7d"), NOW, BASE);
    expect(versionsOf(result.body)).toEqual(["0.23.17", "0.23.18"]);
    expect(result.verdicts[1]).toEqual({
      visible: true,
      publishedAt: { at: NOW - 2 * HOUR, source: "pubtime" },
      grant: { kind: "security-fix", advisory: "RUSTSEC-2026-0042", floor: HOUR },
    });
    expect(result.verdicts[2]).toMatchObject({ visible: false, reason: "too-young", grant: null });
  });

  it("keeps the fix hidden until the floor has passed", () => {
    const justPublished = indexLine({ name: "rustls", vers: "0.23.18", pubtime: NOW - 30 * 60 });
    const result = filterIndexFile("rustls", scanIndexFile(justPublished), ADVISORY, w("7d"), NOW, BASE);
    expect(result.verdicts[0]).toMatchObject({
      visible: false,
      reason: "too-young",
      visibleAt: NOW + 30 * 60,
      grant: { kind: "security-fix" },
    });
    expect(result.nextChangeAt).toBe(NOW + 30 * 60);
  });

  it("does nothing without an advisory, or when admission is off", () => {
    const file = scanIndexFile(OLD + FIX);
    expect(filterIndexFile("rustls", file, null, w("7d"), NOW, BASE).kept).toBe(1);
    expect(
      filterIndexFile("rustls", file, ADVISORY, w("7d"), NOW, rules({ securityFixes: { enabled: false, floor: HOUR } }))
        .kept,
    ).toBe(1);
  });

  it("never lengthens a window shorter than the floor", () => {
    const fix = indexLine({ name: "rustls", vers: "0.23.18", pubtime: NOW - 40 * 60 });
    const result = filterIndexFile(
      "rustls",
      scanIndexFile(fix),
      ADVISORY,
      w("1h"),
      NOW,
      rules({ securityFixes: { enabled: true, floor: 2 * HOUR } }),
    );
    expect(result.verdicts[0]).toMatchObject({ reason: "too-young", visibleAt: NOW + 20 * 60, grant: null });
  });

  it("keeps a fix of unknown age hidden", () => {
    const unknownFix = indexLine({ name: "rustls", vers: "0.23.18" });
    expect(filterIndexFile("rustls", scanIndexFile(unknownFix), ADVISORY, w("7d"), NOW, BASE).kept).toBe(0);
  });
});
