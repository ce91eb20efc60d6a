import { describe, expect, it } from "vitest";
import { createCrateDecider } from "../../src/core/crate-decider.ts";
import { defaultRules } from "../../src/core/policy.ts";
import { parseLockfile } from "../../src/inspect/lockfile.ts";
import { checkLockfile, formatCheckMarkdown, formatCheckText } from "../../src/inspect/lockfile-check.ts";
import { DAY, FixedClock, InMemoryPublishTimes, InMemoryUpstream, indexLine } from "../support/in-memory-ports.ts";
import { windowOf } from "../support/window-of.ts";

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0) / 1000;
const CRATES_IO = "registry+https://github.com/rust-lang/crates.io-index";
const SEVEN = windowOf("7d");

function lockfileOf(pins: [string, string, string?][]): string {
  return `version = 4\n${pins.map(([name, version, source]) => `\n[[package]]\nname = "${name}"\nversion = "${version}"\nsource = "${source ?? CRATES_IO}"\n`).join("")}`;
}

function setup() {
  const upstream = new InMemoryUpstream()
    .set("ol/dc/oldcrate", { body: indexLine({ name: "oldcrate", vers: "1.0.0", pubtime: NOW - 30 * DAY }) })
    .set("fr/es/fresh", {
      body:
        indexLine({ name: "fresh", vers: "1.0.0", pubtime: NOW - 30 * DAY }) +
        indexLine({ name: "fresh", vers: "1.1.0", pubtime: NOW - 2 * DAY }),
    })
    .set("ya/nk/yanky", { body: indexLine({ name: "yanky", vers: "0.3.0", yanked: true, pubtime: NOW - 90 * DAY }) })
    .set("my/st/mystery", { body: indexLine({ name: "mystery", vers: "2.0.0" }) })
    .set("fl/ak/flaky", { status: 500 });
  const { decide } = createCrateDecider({
    upstream,
    publishTimes: new InMemoryPublishTimes(),
    clock: new FixedClock(NOW),
    rules: defaultRules(false),
  });
  return { upstream, decide };
}

describe("checkLockfile", () => {
  it("names every pin the window hides, with its reason and when it clears", async () => {
    const { decide } = setup();
    const lockfile = parseLockfile(
      lockfileOf([
        ["oldcrate", "1.0.0"],
        ["fresh", "1.1.0"],
        ["yanky", "0.3.0"],
        ["mystery", "2.0.0"],
        ["oldcrate", "9.9.9"],
        ["nosuch", "1.0.0"],
        ["flaky", "1.0.0"],
        ["gitdep", "1.0.0", "git+https://example.com/x#abc"],
      ]),
    );
    const report = await checkLockfile(lockfile, decide, SEVEN);
    expect(report.findings.map((f) => [f.name, f.version, f.status])).toEqual([
      ["oldcrate", "1.0.0", "visible"],
      ["fresh", "1.1.0", "too-young"],
      ["yanky", "0.3.0", "yanked"],
      ["mystery", "2.0.0", "unknown-publish-time"],
      ["oldcrate", "9.9.9", "not-in-index"],
      ["nosuch", "1.0.0", "crate-not-found"],
      ["flaky", "1.0.0", "fetch-failed"],
      ["gitdep", "1.0.0", "not-checked"],
    ]);
    expect(report.findings[1]).toMatchObject({
      published_at: "2026-11-20T12:00:00Z",
      visible_at: "2026-11-27T12:00:00Z",
    });
    expect(report.problems).toBe(6);
    expect(report.checked).toBe(7);
    const text = formatCheckText(report);
    expect(text).toContain("fresh 1.1.0: too young (published 2026-11-20T12:00:00Z); clears at 2026-11-27T12:00:00Z");
    expect(text).toContain("gitdep 1.0.0: not checked (git source is not filtered by the cooldown)");
    expect(text).toContain("6 of 7 crates.io pins would not resolve under /7d/");
  });

  it("renders the same report as a Markdown table: pin, verdict, reason, when it clears", async () => {
    const { decide } = setup();
    const lockfile = parseLockfile(
      lockfileOf([
        ["oldcrate", "1.0.0"],
        ["fresh", "1.1.0"],
        ["yanky", "0.3.0"],
        ["mystery", "2.0.0"],
        ["oldcrate", "9.9.9"],
        ["nosuch", "1.0.0"],
        ["gitdep", "1.0.0", "git+https://example.com/x#abc"],
      ]),
    );
    const markdown = formatCheckMarkdown(await checkLockfile(lockfile, decide, SEVEN));
    expect(markdown.split("\n")).toEqual([
      "### crates-cooldown check: 5 of 6 crates.io pins would not resolve under /7d/",
      "",
      "| pin | verdict | reason | clears at |",
      "| --- | --- | --- | --- |",
      "| fresh 1.1.0 | hidden | too young (published 2026-11-20T12:00:00Z) | 2026-11-27T12:00:00Z |",
      "| yanky 0.3.0 | hidden | yanked | never (update to another version) |",
      "| mystery 2.0.0 | hidden | publish time unknown | once the timestamp database learns it and the window has passed |",
      "| oldcrate 9.9.9 | missing | not in the index (removed or never published) | never |",
      expect.stringMatching(/^\| nosuch 1\.0\.0 \| missing \| .+ \| never \|$/),
      "| gitdep 1.0.0 | not checked | git source is not filtered by the cooldown | - |",
      "",
      "",
    ]);
  });

  it("keeps each Markdown cell on one line, escaping what would end the cell or open HTML", () => {
    const markdown = formatCheckMarkdown({
      window: "7d",
      checked: 1,
      problems: 1,
      findings: [
        {
          name: "flaky",
          version: "1.0.0",
          origin: "crates-io",
          status: "fetch-failed",
          published_at: null,
          visible_at: null,
          detail: "upstream said | <b>no</b>\nat all \\",
        },
      ],
    });
    expect(markdown).toContain("| flaky 1.0.0 | error | upstream said \\| &lt;b&gt;no&lt;/b&gt; at all \\\\ | - |\n");
  });

  it("says only the summary in Markdown when every pin is visible", async () => {
    const { decide } = setup();
    const report = await checkLockfile(parseLockfile(lockfileOf([["oldcrate", "1.0.0"]])), decide, SEVEN);
    expect(formatCheckMarkdown(report)).toBe(
      "### crates-cooldown check: ok: all 1 crates.io pins are visible under /7d/\n\n",
    );
  });

  it("passes when every pin is visible", async () => {
    const { decide } = setup();
    const report = await checkLockfile(
      parseLockfile(
        lockfileOf([
          ["oldcrate", "1.0.0"],
          ["fresh", "1.0.0"],
        ]),
      ),
      decide,
      SEVEN,
    );
    expect(report.problems).toBe(0);
    expect(formatCheckText(report)).toBe("ok: all 2 crates.io pins are visible under /7d/\n");
  });

  it("fetches each crate's index file once, however many versions are pinned", async () => {
    const { upstream, decide } = setup();
    await checkLockfile(
      parseLockfile(
        lockfileOf([
          ["fresh", "1.0.0"],
          ["fresh", "1.1.0"],
          ["oldcrate", "1.0.0"],
        ]),
      ),
      decide,
      SEVEN,
    );
    expect(upstream.requests.map((r) => r.path).sort()).toEqual(["fr/es/fresh", "ol/dc/oldcrate"]);
  });

  it("keeps at most the given number of fetches in flight", async () => {
    let inFlight = 0;
    let peak = 0;
    const upstream = new InMemoryUpstream();
    const names = Array.from({ length: 40 }, (_, i) => `crate${i}`);
    for (const name of names) {
      upstream.set(`cr/at/${name}`, async () => {
        peak = Math.max(peak, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, 5));
        inFlight--;
        return new Response(indexLine({ name, vers: "1.0.0", pubtime: NOW - 30 * DAY }));
      });
    }
    const { decide } = createCrateDecider({
      upstream,
      publishTimes: new InMemoryPublishTimes(),
      clock: new FixedClock(NOW),
      rules: defaultRules(false),
    });
    const report = await checkLockfile(parseLockfile(lockfileOf(names.map((n) => [n, "1.0.0"]))), decide, SEVEN, {
      concurrency: 4,
    });
    expect(report.problems).toBe(0);
    expect(peak).toBe(4);
  });
});

describe("checkLockfile with trust signals (crates.io rules)", () => {
  it("fails a pin held back by a signal, naming the signal's evidence and when it clears, and one of unknown trust data", async () => {
    const upstream = new InMemoryUpstream().set("ta/ke/takeover", {
      body:
        indexLine({ name: "takeover", vers: "1.0.0", pubtime: NOW - 30 * DAY }) +
        indexLine({ name: "takeover", vers: "1.1.0", pubtime: NOW - 10 * DAY }) +
        indexLine({ name: "takeover", vers: "1.2.0", pubtime: NOW - 9 * DAY }),
    });
    const times = new InMemoryPublishTimes()
      .set("takeover", "1.0.0", NOW - 30 * DAY)
      .set("takeover", "1.1.0", NOW - 10 * DAY);
    times.trust.set("takeover", {
      unknown: new Set(),
      signals: new Map([["1.1.0", [{ signal: "new-publisher", by: "eve", earlier: ["alice"], earlierCount: 1 }]]]),
    });
    const { decide } = createCrateDecider({
      upstream,
      publishTimes: times,
      clock: new FixedClock(NOW),
      rules: defaultRules(true),
    });
    const report = await checkLockfile(
      parseLockfile(
        lockfileOf([
          ["takeover", "1.0.0"],
          ["takeover", "1.1.0"],
          ["takeover", "1.2.0"],
        ]),
      ),
      decide,
      SEVEN,
    );
    expect(report.problems).toBe(2);
    const text = formatCheckText(report);
    expect(text).toContain(
      "takeover 1.1.0: held by trust signals: first release by @eve (earlier releases by @alice); clears at 2026-11-26T12:00:00Z",
    );
    expect(text).toContain(
      "takeover 1.2.0: trust data unknown; clears once the timestamp database learns who published it",
    );
    expect(formatCheckMarkdown(report)).toContain(
      "| takeover 1.1.0 | hidden | held by trust signals: first release by @eve (earlier releases by @alice) | 2026-11-26T12:00:00Z |",
    );
  });
});
