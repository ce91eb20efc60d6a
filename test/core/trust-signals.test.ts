import { describe, expect, it } from "vitest";
import { scanIndexFile } from "../../src/core/index-file.ts";
import { filterIndexFile } from "../../src/core/index-filter.ts";
import { decideVisibility, defaultRules } from "../../src/core/policy.ts";
import { applyPolicy, readPolicy } from "../../src/core/policy-document.ts";
import { type CrateRecord, decodeCrateRecord, encodeCrateRecord } from "../../src/core/publish-times.ts";
import { formatRfc3339 } from "../../src/core/time.ts";
import {
  type CrateTrust,
  computeCrateTrust,
  describeTrustSignal,
  trustHoldFor,
  type VersionProvenance,
} from "../../src/core/trust-signals.ts";
import { DAY, HOUR, indexLine } from "../support/in-memory-ports.ts";
import { windowOf } from "../support/window-of.ts";

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0) / 1000;
const T = NOW - 200 * DAY;

function v(
  version: string,
  day: number,
  via: VersionProvenance["via"],
  publisher: [number, string] | null = null,
  trustedSource: string | null = null,
): VersionProvenance {
  return {
    version,
    publishedAt: T + day * DAY,
    via,
    publisherId: publisher?.[0] ?? null,
    publisher: publisher?.[1] ?? null,
    trustedSource,
  };
}
const alice: [number, string] = [1, "alice"];
const bob: [number, string] = [2, "bob"];
const eve: [number, string] = [66, "eve"];

describe("computeCrateTrust", () => {
  it("gives versions published before relevantSince no entry, while they still count as history", () => {
    const trust = computeCrateTrust(
      [v("1.0.0", 0, "token", alice), v("1.1.0", 10, "token", bob), v("1.2.0", 20, null), v("1.3.0", 30, "token", eve)],
      [],
      T + 25 * DAY,
    );
    expect([...trust.signals.keys()]).toEqual([]);
    // 1.3.0 is undecided: the unknown 1.2.0 is part of its history.
    expect([...trust.unknown]).toEqual(["1.3.0"]);
  });

  it("flags a release by an account that published no earlier version, naming the earlier publishers", () => {
    const trust = computeCrateTrust(
      [v("1.0.0", 0, "token", alice), v("1.1.0", 10, "token", bob), v("1.2.0", 20, "token", eve)],
      [],
    );
    expect(trust.signals.get("1.1.0")).toEqual([
      { signal: "new-publisher", by: "bob", earlier: ["alice"], earlierCount: 1 },
    ]);
    expect(trust.signals.get("1.2.0")).toEqual([
      { signal: "new-publisher", by: "eve", earlier: ["alice", "bob"], earlierCount: 2 },
    ]);
    expect(trust.unknown.size).toBe(0);
  });

  it("exempts the first version and repeat publishers, and orders by publish time, not by the list", () => {
    const trust = computeCrateTrust(
      [v("2.0.0", 30, "token", alice), v("1.0.0", 0, "token", eve), v("1.1.0", 10, "token", alice)],
      [],
    );
    // eve published first (exempt); alice's first release 1.1.0 is new, her second 2.0.0 is not.
    expect([...trust.signals.keys()]).toEqual(["1.1.0"]);
  });

  it("needs an earlier release by a known account: a crate of account-less legacy releases gets no new-publisher", () => {
    const trust = computeCrateTrust([v("0.1.0", 0, "no-account"), v("0.2.0", 5, "token", alice)], []);
    expect(trust.signals.size).toBe(0);
  });

  it("flags a token release after a trusted-publishing one, naming where the earlier one came from", () => {
    const trust = computeCrateTrust(
      [
        v("1.4.0", 0, "token", alice),
        v("1.4.1", 5, "trusted-publishing", null, "github: owner/repo"),
        v("1.4.2", 9, "token", alice),
        v("1.4.3", 12, "token", alice),
      ],
      [],
    );
    expect(trust.signals.get("1.4.2")).toEqual([
      { signal: "trusted-publishing-downgrade", by: "alice", previous: "1.4.1", via: "github: owner/repo" },
    ]);
    // Only the release right after: the latest earlier release of 1.4.3 used a token.
    expect(trust.signals.has("1.4.3")).toBe(false);
  });

  it("flags releases within 30 days after an owner was added, never for the crate's initial owners", () => {
    const trust = computeCrateTrust(
      [v("1.0.0", 0, "token", alice), v("1.1.0", 40, "token", alice), v("1.2.0", 75, "token", alice)],
      [
        { owner: "alice", addedAt: T - HOUR },
        { owner: "github:evil:team", addedAt: T + 39 * DAY },
      ],
    );
    expect(trust.signals.get("1.1.0")).toEqual([
      { signal: "recent-owner", owner: "github:evil:team", addedAt: T + 39 * DAY },
    ]);
    // 36 days after the addition: outside the 30 days.
    expect(trust.signals.has("1.2.0")).toBe(false);
  });

  it("leaves a version undecided when its own data, an earlier publisher or the owners are not known", () => {
    const trust = computeCrateTrust(
      [v("1.0.0", 0, "token", alice), v("1.1.0", 10, null), v("1.2.0", 20, "token", alice)],
      [],
    );
    expect([...trust.unknown]).toEqual(["1.1.0", "1.2.0"]);
    const noOwners = computeCrateTrust([v("1.0.0", 0, "token", alice), v("1.1.0", 10, "token", alice)], null);
    expect([...noOwners.unknown]).toEqual(["1.1.0"]);
    expect(noOwners.signals.size).toBe(0);
  });
});

describe("the extra wait", () => {
  const trust: CrateTrust = computeCrateTrust(
    [
      v("1.0.0", 0, "trusted-publishing"),
      v("1.0.1", 5, "trusted-publishing", null, "github: o/r"),
      v("1.1.0", 10, "token", alice),
    ],
    [],
  );
  const rules = defaultRules(true).trust;

  it("is the longest wait of the version's signals, and signals set to 0d are off", () => {
    // 1.1.0 is both a downgrade (14d) and, with no earlier account, no new-publisher.
    expect(trustHoldFor("1.1.0", trust, true, rules)).toMatchObject({ kind: "signals", extra: 14 * DAY });
    const off = applyPolicy(defaultRules(true), readPolicy({ trust: { "trusted-publishing-downgrade": "0d" } })).trust;
    expect(trustHoldFor("1.1.0", trust, true, off)).toBeNull();
    const both = computeCrateTrust(
      [v("1.0.0", 0, "token", alice), v("1.0.1", 1, "trusted-publishing"), v("1.1.0", 10, "token", eve)],
      [{ owner: "eve", addedAt: T + 9 * DAY }],
    );
    const hold = trustHoldFor("1.1.0", both, true, rules);
    expect(hold).toMatchObject({ kind: "signals", extra: 14 * DAY });
    expect(hold?.kind === "signals" && hold.signals.map((s) => s.signal)).toEqual([
      "new-publisher",
      "trusted-publishing-downgrade",
      "recent-owner",
    ]);
  });

  it("is unknown for a version the record does not list or lists as unknown, unless the policy ignores that", () => {
    expect(trustHoldFor("9.9.9", trust, false, rules)).toEqual({ kind: "unknown" });
    expect(trustHoldFor("9.9.9", trust, false, { ...rules, unknownData: "ignore" })).toBeNull();
  });

  it("is nothing for a record without trust data, or when the upstream is not crates.io", () => {
    expect(trustHoldFor("1.1.0", null, true, rules)).toBeNull();
    expect(trustHoldFor("1.1.0", trust, true, defaultRules(false).trust)).toBeNull();
  });
});

describe("decisions with trust signals", () => {
  const rules = defaultRules(true);
  const window = windowOf("7d");
  const published = NOW - 10 * DAY;
  const line = scanIndexFile(indexLine({ name: "foo", vers: "1.1.0", pubtime: published })).lines[0]!;
  const at = { at: published, source: "pubtime" as const };
  const signal = { signal: "new-publisher" as const, by: "eve", earlier: ["alice"], earlierCount: 1 };
  const hold = { kind: "signals" as const, extra: 7 * DAY, signals: [signal] };

  it("holds a release past its window until the extra wait is over, then shows it", () => {
    expect(decideVisibility(line, at, window, NOW, rules, {}, hold)).toEqual({
      visible: false,
      reason: "trust-signal",
      publishedAt: at,
      visibleAt: published + 14 * DAY,
      trust: { extra: 7 * DAY, signals: [signal] },
    });
    expect(decideVisibility(line, at, window, published + 14 * DAY, rules, {}, hold)).toMatchObject({
      visible: true,
    });
  });

  it("inside the window it is too young, with the moment that counts the extra wait", () => {
    expect(decideVisibility(line, at, windowOf("30d"), NOW, rules, {}, hold)).toMatchObject({
      reason: "too-young",
      visibleAt: published + 37 * DAY,
    });
  });

  it("hides unknown trust data once the window is over (fail closed), not before", () => {
    const unknown = { kind: "unknown" as const };
    expect(decideVisibility(line, at, window, NOW, rules, {}, unknown)).toEqual({
      visible: false,
      reason: "trust-data-unknown",
      publishedAt: at,
    });
    expect(decideVisibility(line, at, windowOf("14d"), NOW, rules, {}, unknown)).toMatchObject({
      reason: "too-young",
      visibleAt: published + 14 * DAY,
    });
  });

  it("lets exceptions and admitted security fixes through as without signals", () => {
    const exception = { crate: "foo", version: "1.1.0", reason: "r", expires: NOW + DAY };
    expect(decideVisibility(line, at, window, NOW, rules, { exception }, hold)).toMatchObject({ visible: true });
    const securityFix = { advisory: "RUSTSEC-2026-0001", floor: HOUR };
    expect(decideVisibility(line, at, window, NOW, rules, { securityFix }, hold)).toMatchObject({ visible: true });
  });
});

describe("the record's trust section", () => {
  const record: CrateRecord = {
    crate: "foo",
    versions: new Map([
      ["1.0.0", T],
      ["1.1.0", T + 10 * DAY],
      ["1.2.0", T + 20 * DAY],
    ]),
    trust: computeCrateTrust(
      [v("1.0.0", 0, "trusted-publishing"), v("1.1.0", 10, "token", eve), v("1.2.0", 20, null)],
      [{ owner: "eve", addedAt: T + 5 * DAY }],
    ),
  };

  it("is record format 3, round-trips, and keeps only what is unknown or signalled", () => {
    const text = encodeCrateRecord(record);
    const parsed = JSON.parse(text);
    expect(parsed.v).toBe(3);
    expect(parsed.trust).toEqual({
      unknown: ["1.2.0"],
      signals: {
        "1.1.0": [
          { s: "trusted-publishing-downgrade", by: "eve", previous: "1.0.0", via: null },
          { s: "recent-owner", owner: "eve", added: T + 5 * DAY },
        ],
      },
    });
    // The decoded times are a read-only map over the parsed record; compared as a Map.
    const decoded = (value: string) => {
      const read = decodeCrateRecord(value);
      return { ...read, versions: new Map(read.versions) };
    };
    expect(decoded(text)).toEqual(record);
    const withAdvisory = { ...record, advisories: [{ id: "RUSTSEC-2026-0001", patched: [">= 1.2.0"] }] };
    expect(decoded(encodeCrateRecord(withAdvisory))).toEqual(withAdvisory);
  });

  it("decides a whole file: held, unknown past the window, visible, and counted for X-Cooldown", () => {
    const file = scanIndexFile(
      indexLine({ name: "foo", vers: "1.0.0", pubtime: NOW - 30 * DAY }) +
        indexLine({ name: "foo", vers: "1.1.0", pubtime: NOW - 10 * DAY }) +
        indexLine({ name: "foo", vers: "1.2.0", pubtime: NOW - 9 * DAY }) +
        indexLine({ name: "foo", vers: "1.3.0", pubtime: NOW - 8 * DAY }),
    );
    const filtered = filterIndexFile("foo", file, record, windowOf("7d"), NOW, defaultRules(true));
    expect(filtered.verdicts.map((x) => (x.visible ? "visible" : x.reason))).toEqual([
      "visible",
      "trust-signal",
      "trust-data-unknown",
      // Not in the record at all: nobody knows who published it.
      "trust-data-unknown",
    ]);
    expect(filtered.hidden).toMatchObject({ "trust-signal": 1, "trust-data-unknown": 2 });
    expect(filtered.nextVisibleAt).toBe(NOW - 10 * DAY + 21 * DAY);
    const plain = filterIndexFile("foo", file, record, windowOf("7d"), NOW, defaultRules(false));
    expect(plain.kept).toBe(4);
  });
});

describe("evidence", () => {
  it("names the signal and what it rests on", () => {
    expect(
      describeTrustSignal(
        { signal: "new-publisher", by: "someone", earlier: ["a", "b", "c"], earlierCount: 5 },
        formatRfc3339,
      ),
    ).toBe("first release by @someone (earlier releases by @a, @b, @c and 2 more)");
    expect(
      describeTrustSignal(
        { signal: "trusted-publishing-downgrade", by: "a", previous: "1.4.1", via: "github: owner/repo" },
        formatRfc3339,
      ),
    ).toBe("published with a token by @a; 1.4.1 used trusted publishing (github: owner/repo)");
    expect(describeTrustSignal({ signal: "recent-owner", owner: "mallory", addedAt: NOW }, formatRfc3339)).toBe(
      "owner @mallory added 2026-11-22T12:00:00Z, after the first release",
    );
  });
});

describe("explain and X-Cooldown through the proxy", () => {
  it("names the signal with its evidence and counts the release held back", async () => {
    const { createCooldownProxy } = await import("../../src/core/proxy.ts");
    const { FixedClock, InMemoryPublishTimes, InMemoryUpstream } = await import("../support/in-memory-ports.ts");
    const upstream = new InMemoryUpstream().set("3/f/foo", {
      body:
        indexLine({ name: "foo", vers: "1.0.0", pubtime: NOW - 30 * DAY }) +
        indexLine({ name: "foo", vers: "1.1.0", pubtime: NOW - 10 * DAY }),
    });
    const times = new InMemoryPublishTimes().set("foo", "1.0.0", NOW - 30 * DAY).set("foo", "1.1.0", NOW - 10 * DAY);
    times.trust.set("foo", {
      unknown: new Set(),
      signals: new Map([["1.1.0", [{ signal: "new-publisher", by: "someone", earlier: ["a", "b"], earlierCount: 2 }]]]),
    });
    const proxy = createCooldownProxy({
      upstream,
      publishTimes: times,
      clock: new FixedClock(NOW),
      rules: defaultRules(true),
      service: { version: "9.9.9", home: "node" },
    });
    const file = await proxy(new Request("http://proxy.test/7d/3/f/foo"));
    expect(file.headers.get("x-cooldown")).toContain(
      "hidden=1; too-young=0; yanked=0; unknown-age=0; unreadable=0; trust-held=1",
    );
    const text = await (await proxy(new Request("http://proxy.test/7d/-/explain/foo"))).text();
    expect(text).toContain(
      `first release by @someone (earlier releases by @a, @b): +7d, visible at ${formatRfc3339(NOW + 4 * DAY)}`,
    );
    const json = await (
      await proxy(new Request("http://proxy.test/7d/-/explain/foo", { headers: { accept: "application/json" } }))
    ).json();
    expect(json.versions[1]).toMatchObject({
      visible: false,
      reason: "trust-signal",
      visible_at: formatRfc3339(NOW + 4 * DAY),
      trust: {
        extra_seconds: 7 * DAY,
        signals: [{ signal: "new-publisher", evidence: "first release by @someone (earlier releases by @a, @b)" }],
      },
    });
    const after = createCooldownProxy({
      upstream,
      publishTimes: times,
      clock: new FixedClock(NOW + 4 * DAY),
      rules: defaultRules(true),
      service: { version: "9.9.9", home: "node" },
    });
    const later = await (await after(new Request("http://proxy.test/7d/-/explain/foo"))).text();
    expect(later).toContain(
      `first release by @someone (earlier releases by @a, @b): +7d, visible since ${formatRfc3339(NOW + 4 * DAY)}`,
    );
  });
});
