import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_POLICY } from "../../src/core/policy-document.ts";
import { indexFile, type VersionSpec, versionsIn } from "../server/index-lines.ts";
import { sparseIndexPath } from "../support/fake-crates-io.ts";
import { FixtureUpstream } from "../support/fixture-upstream.ts";
import { closeClient, send } from "./client.ts";
import { HOMES, type RunningHome, startHome } from "./homes.ts";

// Trust signals, with the same expectations for every home: the data as the ingest job records it (at the edge: the
// KV records `kv export` writes, format 3), crates.io's rules (the edge's always; Node's for index.crates.io).

const T0 = Math.floor(Date.now() / 1000);
const DAY = 86_400;
const LIFETIME_MS = 300_000;
const rfc3339 = (at: number) => new Date(at * 1000).toISOString().replace(".000Z", "Z");

let upstream: FixtureUpstream;

function serve(name: string, versions: readonly VersionSpec[]): string {
  upstream.set(`/${sparseIndexPath(name)}`, {
    body: indexFile(name, versions),
    headers: { "cache-control": "public, max-age=86400" },
  });
  return sparseIndexPath(name);
}

beforeAll(async () => {
  upstream = await FixtureUpstream.start({ lifetimeMs: LIFETIME_MS });
});

afterAll(async () => {
  await upstream?.close();
  closeClient();
});

describe.each(HOMES)("the %s home, deciding as for crates.io", (kind) => {
  let home: RunningHome;
  let now = T0;
  const get = (target: string, headers: Record<string, string> = {}) => send(home.url, target, { headers });

  beforeAll(async () => {
    home = await startHome(kind, {
      upstream: upstream.url,
      clock: () => now,
      lifetimeMs: LIFETIME_MS,
      settings: { cratesIoRules: true },
    });
  });
  afterAll(async () => {
    await home?.close();
  });
  beforeEach(() => {
    now = T0;
    home.setPolicy(DEFAULT_POLICY);
  });

  it("holds a new publisher's release 7 days past the window, and one of unknown trust data, then shows the first", async () => {
    const versions = [
      { vers: "1.0.0", publishedAt: T0 - 60 * DAY },
      { vers: "1.1.0", publishedAt: T0 - 30 * DAY },
      { vers: "1.2.0", publishedAt: T0 - 8 * DAY },
      { vers: "1.3.0", publishedAt: T0 - 7 * DAY - 60 },
    ];
    const path = serve("takeover", versions);
    home.recordTimes(versions.map((v) => ({ crate: "takeover", version: v.vers, publishedAt: v.publishedAt })));
    home.recordProvenance(
      [
        { crate: "takeover", version: "1.0.0", via: "token", publisherId: 1, publisher: "alice" },
        { crate: "takeover", version: "1.1.0", via: "token", publisherId: 1, publisher: "alice" },
        { crate: "takeover", version: "1.2.0", via: "token", publisherId: 66, publisher: "eve" },
      ],
      new Map([["takeover", [{ owner: "alice", addedAt: T0 - 61 * DAY }]]]),
    );
    const answer = await get(`7d/${path}`);
    expect(answer.status).toBe(200);
    expect(versionsIn(answer.text)).toEqual(["1.0.0", "1.1.0"]);
    expect(answer.headers["x-cooldown"]).toBe(
      `window=7d; kept=2; hidden=2; too-young=0; yanked=0; unknown-age=0; unreadable=0; trust-held=1; trust-unknown=1; next-visible=${rfc3339(T0 + 6 * DAY)}`,
    );
    const explained = JSON.parse((await get("7d/-/explain/takeover", { accept: "application/json" })).text) as {
      versions: { version: string; reason: string | null; visible_at: string | null; trust: unknown }[];
    };
    expect(explained.versions.slice(2)).toMatchObject([
      {
        version: "1.2.0",
        reason: "trust-signal",
        visible_at: rfc3339(T0 + 6 * DAY),
        trust: {
          extra_seconds: 7 * DAY,
          signals: [{ signal: "new-publisher", evidence: "first release by @eve (earlier releases by @alice)" }],
        },
      },
      { version: "1.3.0", reason: "trust-data-unknown", visible_at: null, trust: null },
    ]);
    const text = (await get("7d/-/explain/takeover")).text;
    expect(text).toContain(
      `first release by @eve (earlier releases by @alice): +7d, visible at ${rfc3339(T0 + 6 * DAY)}`,
    );

    now = T0 + 6 * DAY;
    expect(versionsIn((await get(`7d/${path}`)).text)).toEqual(["1.0.0", "1.1.0", "1.2.0"]);
  });

  it("follows [trust] in the policy: a signal set to 0d is off, unknown trust data can be ignored", async () => {
    const versions = [
      { vers: "2.0.0", publishedAt: T0 - 90 * DAY },
      { vers: "2.0.1", publishedAt: T0 - 10 * DAY },
      { vers: "2.0.2", publishedAt: T0 - 9 * DAY },
    ];
    const path = serve("handover", versions);
    home.recordTimes(versions.map((v) => ({ crate: "handover", version: v.vers, publishedAt: v.publishedAt })));
    home.recordProvenance(
      [
        { crate: "handover", version: "2.0.0", via: "token", publisherId: 1, publisher: "alice" },
        { crate: "handover", version: "2.0.1", via: "trusted-publishing", publisherId: null, publisher: null },
      ],
      new Map([["handover", [{ owner: "alice", addedAt: T0 - 91 * DAY }]]]),
    );
    // 2.0.1: alice's crate now publishes through trusted publishing: no signal. 2.0.2: unknown.
    expect(versionsIn((await get(`7d/${path}`)).text)).toEqual(["2.0.0", "2.0.1"]);
    home.setPolicy({ ...DEFAULT_POLICY, trust: { ...DEFAULT_POLICY.trust, unknownData: "ignore" } });
    expect(versionsIn((await get(`7d/${path}`)).text)).toEqual(["2.0.0", "2.0.1", "2.0.2"]);

    home.recordProvenance([{ crate: "handover", version: "2.0.2", via: "token", publisherId: 1, publisher: "alice" }]);
    home.setPolicy(DEFAULT_POLICY);
    // A token release right after a trusted-publishing one: +14 days.
    expect(versionsIn((await get(`7d/${path}`)).text)).toEqual(["2.0.0", "2.0.1"]);
    home.setPolicy({
      ...DEFAULT_POLICY,
      trust: {
        ...DEFAULT_POLICY.trust,
        extraWait: { ...DEFAULT_POLICY.trust.extraWait, "trusted-publishing-downgrade": 0 },
      },
    });
    expect(versionsIn((await get(`7d/${path}`)).text)).toEqual(["2.0.0", "2.0.1", "2.0.2"]);
    const status = JSON.parse((await get("-/status")).text) as { rules: { trust: unknown } };
    expect(status.rules.trust).toEqual({
      enabled: true,
      extra_wait_seconds: { "new-publisher": 7 * DAY, "trusted-publishing-downgrade": 0, "recent-owner": 7 * DAY },
      unknown_trust_data: "hide",
    });
  });
});
