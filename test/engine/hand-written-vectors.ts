import { DEFAULT_POLICY, encodePolicy, type Policy } from "../../src/core/policy-document.ts";
import type { EngineVector } from "./engine-vector.ts";

/**
 * Vectors whose expected outcome is written by hand, not computed by the core: they pin the rules themselves, inside
 * the engine. The build script also checks them in Node before generating, so a wrong one is caught on both sides.
 */

const at = (rfc3339: string) => Date.parse(rfc3339) / 1000;
const NOW = at("2026-09-21T12:00:00Z");
const D7 = { label: "7d", seconds: 7 * 86_400 };
const D3 = { label: "3d", seconds: 3 * 86_400 };
const H36 = { label: "36h", seconds: 36 * 3_600 };

const line = (vers: string, rest: string) =>
  `{"name":"demo","vers":"${vers}","deps":[],"cksum":"00","features":{},${rest}}\n`;
const EIGHT_DAYS_OLD = line("1.0.0", '"yanked":false,"pubtime":"2026-09-13T12:00:00Z"');
const TWO_DAYS_OLD = line("1.1.0", '"yanked":false,"pubtime":"2026-09-19T12:00:00Z"');
const EXACTLY_SEVEN_DAYS_OLD = line("1.2.0", '"yanked":false,"pubtime":"2026-09-14T12:00:00Z"');
const YANKED_OLD = line("0.9.0", '"yanked":true,"pubtime":"2020-01-01T00:00:00Z"');
const NO_PUBTIME = line("0.1.0", '"yanked":false');
const NO_PUBTIME_2 = line("0.2.0", '"yanked":false');
const MALFORMED_PUBTIME = line("1.3.0", '"yanked":false,"pubtime":"2026-09-01T00:00:00.000Z"');
const FEB_30 = line("1.4.0", '"yanked":false,"pubtime":"2026-02-30T00:00:00Z"');
const TRUNCATED = '{"name":"demo","vers":"2.0.0","deps":[],"cksum":"';
const ODD_ORDER =
  '{"pubtime":"2026-09-01T00:00:00Z", "yanked": false, "vers": "0.5.0", "name": "demo", "deps": [], "features": {}}\n';
const UNICODE =
  '{"name":"demo","vers":"0.6.0","deps":[{"name":"émoji-😀","req":"^1","kind":"normal"}],"cksum":"00","features":{"日本":[]},"yanked":false,"pubtime":"2026-09-01T00:00:00Z"}\n';
const ESCAPED_QUOTES =
  '{"name":"demo","vers":"0.7.0","deps":[],"cksum":"00","features":{"a\\"vers\\":\\"9.9.9\\"":[]},"yanked":false,"pubtime":"2026-09-01T00:00:00Z"}\n';
const UNICODE_ESCAPED_KEY =
  '{"name":"demo","\\u0076ers":"0.8.0","deps":[],"cksum":"00","features":{},"yanked":false,"pubtime":"2026-09-01T00:00:00Z"}\n';
const CRLF =
  '{"name":"demo","vers":"0.8.1","deps":[],"cksum":"00","features":{},"yanked":false,"pubtime":"2026-09-01T00:00:00Z"}\r\n';
const FORTY_HOURS_OLD = line("3.0.0", '"yanked":false,"pubtime":"2026-09-19T20:00:00Z"');
const THIRTY_HOURS_OLD = line("3.1.0", '"yanked":false,"pubtime":"2026-09-20T06:00:00Z"');

const demoRecord = (times: Record<string, number>) => JSON.stringify({ v: 1, crate: "demo", times });
/** A policy as the job pushes it to KV (`_policy`), over the defaults. */
const policy = (changes: Partial<Policy>) => encodePolicy({ ...DEFAULT_POLICY, ...changes });
/** Trust signals (record format 3): 1.1.0 and 1.2.0 by a new publisher; 1.0.1 is not in the record (trust unknown). */
const EIGHT_DAYS_OLD_UNRECORDED = line("1.0.1", '"yanked":false,"pubtime":"2026-09-13T13:00:00Z"');
const TRUST_FILE = EIGHT_DAYS_OLD + EIGHT_DAYS_OLD_UNRECORDED + TWO_DAYS_OLD + EXACTLY_SEVEN_DAYS_OLD;
const NEW_PUBLISHER = { s: "new-publisher", by: "eve", earlier: ["alice"], n: 1 };
const TRUST_RECORD = JSON.stringify({
  v: 3,
  crate: "demo",
  times: {
    "1.0.0": at("2026-09-13T12:00:00Z"),
    "1.1.0": at("2026-09-19T12:00:00Z"),
    "1.2.0": at("2026-09-14T12:00:00Z"),
  },
  trust: { unknown: [], signals: { "1.1.0": [NEW_PUBLISHER], "1.2.0": [NEW_PUBLISHER] } },
});
const TWO_HOURS_OLD = line("1.5.0", '"yanked":false,"pubtime":"2026-09-21T10:00:00Z"');
const NINETY_MINUTES_OLD = line("1.5.1", '"yanked":false,"pubtime":"2026-09-21T10:30:00Z"');

export const HAND_WRITTEN_VECTORS: readonly EngineVector[] = [
  {
    name: "keeps a version published 8 days ago under /7d/",
    crate: "demo",
    text: EIGHT_DAYS_OLD,
    window: D7,
    now: NOW,
    record: null,
    prePubtimeInference: false,
    policy: null,
    expected: { reasons: ["visible"], body: EIGHT_DAYS_OLD, nextVisibleAt: null },
  },
  {
    name: "hides a version published 2 days ago under /3d/ until it is 3 days old",
    crate: "demo",
    text: EIGHT_DAYS_OLD + TWO_DAYS_OLD,
    window: D3,
    now: NOW,
    record: null,
    prePubtimeInference: false,
    policy: null,
    expected: { reasons: ["visible", "too-young"], body: EIGHT_DAYS_OLD, nextVisibleAt: at("2026-09-22T12:00:00Z") },
  },
  {
    name: "shows a version at the very second its window has passed",
    crate: "demo",
    text: EXACTLY_SEVEN_DAYS_OLD,
    window: D7,
    now: NOW,
    record: null,
    prePubtimeInference: false,
    policy: null,
    expected: { reasons: ["visible"], body: EXACTLY_SEVEN_DAYS_OLD, nextVisibleAt: null },
  },
  {
    name: "hides a yanked version however old it is",
    crate: "demo",
    text: YANKED_OLD + EIGHT_DAYS_OLD,
    window: D7,
    now: NOW,
    record: null,
    prePubtimeInference: false,
    policy: null,
    expected: { reasons: ["yanked", "visible"], body: EIGHT_DAYS_OLD, nextVisibleAt: null },
  },
  {
    name: "hides a version with neither pubtime nor a stored time when the inference is off",
    crate: "demo",
    text: NO_PUBTIME,
    window: D7,
    now: NOW,
    record: null,
    prePubtimeInference: false,
    policy: null,
    expected: { reasons: ["unknown-publish-time"], body: "", nextVisibleAt: null },
  },
  {
    name: "dates versions without pubtime by the stored times in the KV record",
    crate: "demo",
    text: NO_PUBTIME + NO_PUBTIME_2,
    window: D7,
    now: NOW,
    record: demoRecord({ "0.1.0": at("2026-09-01T00:00:00Z"), "0.2.0": at("2026-09-20T00:00:00Z") }),
    prePubtimeInference: false,
    policy: null,
    expected: { reasons: ["visible", "too-young"], body: NO_PUBTIME, nextVisibleAt: at("2026-09-27T00:00:00Z") },
  },
  {
    name: "takes the later of pubtime and the stored time",
    crate: "demo",
    text: EIGHT_DAYS_OLD,
    window: D7,
    now: NOW,
    record: demoRecord({ "1.0.0": at("2026-09-20T12:00:00Z") }),
    prePubtimeInference: false,
    policy: null,
    expected: { reasons: ["too-young"], body: "", nextVisibleAt: at("2026-09-27T12:00:00Z") },
  },
  {
    name: "dates a file without any pubtime by the crates.io switch-on when the inference is on",
    crate: "demo",
    text: NO_PUBTIME + NO_PUBTIME_2,
    window: D7,
    now: NOW,
    record: null,
    prePubtimeInference: true,
    policy: null,
    expected: { reasons: ["visible", "visible"], body: NO_PUBTIME + NO_PUBTIME_2, nextVisibleAt: null },
  },
  {
    name: "does not infer a time for a line without pubtime in a file where other lines have one",
    crate: "demo",
    text: NO_PUBTIME + EIGHT_DAYS_OLD,
    window: D7,
    now: NOW,
    record: null,
    prePubtimeInference: true,
    policy: null,
    expected: { reasons: ["unknown-publish-time", "visible"], body: EIGHT_DAYS_OLD, nextVisibleAt: null },
  },
  {
    name: "treats a pubtime not in cargo's exact format, or an impossible date, as no time at all",
    crate: "demo",
    text: MALFORMED_PUBTIME + FEB_30,
    window: D7,
    now: NOW,
    record: null,
    prePubtimeInference: true,
    policy: null,
    expected: { reasons: ["unknown-publish-time", "unknown-publish-time"], body: "", nextVisibleAt: null },
  },
  {
    name: "drops a truncated last line as unreadable and keeps the lines before it",
    crate: "demo",
    text: EIGHT_DAYS_OLD + TRUNCATED,
    window: D7,
    now: NOW,
    record: null,
    prePubtimeInference: false,
    policy: null,
    expected: { reasons: ["visible", "unreadable-line"], body: EIGHT_DAYS_OLD, nextVisibleAt: null },
  },
  {
    name: "keeps lines byte for byte whatever their field order, spacing, unicode, escaped quotes, \\u-escaped keys or CRLF",
    crate: "demo",
    text: ODD_ORDER + UNICODE + ESCAPED_QUOTES + UNICODE_ESCAPED_KEY + CRLF,
    window: D7,
    now: NOW,
    record: null,
    prePubtimeInference: false,
    policy: null,
    expected: {
      reasons: ["visible", "visible", "visible", "visible", "visible"],
      body: ODD_ORDER + UNICODE + ESCAPED_QUOTES + UNICODE_ESCAPED_KEY + CRLF,
      nextVisibleAt: null,
    },
  },
  {
    name: "counts a /36h/ window in hours",
    crate: "demo",
    text: FORTY_HOURS_OLD + THIRTY_HOURS_OLD,
    window: H36,
    now: NOW,
    record: null,
    prePubtimeInference: false,
    policy: null,
    expected: { reasons: ["visible", "too-young"], body: FORTY_HOURS_OLD, nextVisibleAt: at("2026-09-21T18:00:00Z") },
  },
  {
    name: "passes a yanked version on, decided by its age, under yanked = keep",
    crate: "demo",
    text: YANKED_OLD + TWO_DAYS_OLD.replace('"yanked":false', '"yanked":true'),
    window: D7,
    now: NOW,
    record: null,
    prePubtimeInference: false,
    policy: policy({ yanked: "keep" }),
    expected: { reasons: ["visible", "too-young"], body: YANKED_OLD, nextVisibleAt: at("2026-09-26T12:00:00Z") },
  },
  {
    name: "shows a version of unknown age under unknown-publish-time = show",
    crate: "demo",
    text: NO_PUBTIME + TWO_DAYS_OLD,
    window: D7,
    now: NOW,
    record: null,
    prePubtimeInference: false,
    policy: policy({ unknownPublishTime: "show" }),
    expected: { reasons: ["visible", "too-young"], body: NO_PUBTIME, nextVisibleAt: at("2026-09-26T12:00:00Z") },
  },
  {
    name: "lets one exact version through every window while its exception is in force, and no other",
    crate: "demo",
    text: TWO_DAYS_OLD + THIRTY_HOURS_OLD,
    window: D7,
    now: NOW,
    record: null,
    prePubtimeInference: false,
    policy: policy({
      exceptions: [
        { crate: "demo", version: "1.1.0", reason: "needed for a fix", expires: at("2026-10-01T00:00:00Z") },
      ],
    }),
    expected: { reasons: ["visible", "too-young"], body: TWO_DAYS_OLD, nextVisibleAt: at("2026-09-27T06:00:00Z") },
  },
  {
    name: "ignores an exception once it has expired",
    crate: "demo",
    text: TWO_DAYS_OLD,
    window: D7,
    now: NOW,
    record: null,
    prePubtimeInference: false,
    policy: policy({
      exceptions: [{ crate: "demo", version: "1.1.0", reason: "was needed", expires: at("2026-09-20T00:00:00Z") }],
    }),
    expected: { reasons: ["too-young"], body: "", nextVisibleAt: at("2026-09-26T12:00:00Z") },
  },
  {
    name: "admits the lowest patched version of an advisory after the security-fix floor, and not the versions after it",
    crate: "demo",
    text: EIGHT_DAYS_OLD + TWO_HOURS_OLD + NINETY_MINUTES_OLD,
    window: D7,
    now: NOW,
    record: JSON.stringify({
      v: 2,
      crate: "demo",
      times: {},
      advisories: [{ id: "RUSTSEC-2026-0001", patched: [">= 1.5.0"] }],
    }),
    prePubtimeInference: false,
    policy: null,
    expected: {
      reasons: ["visible", "visible", "too-young"],
      body: EIGHT_DAYS_OLD + TWO_HOURS_OLD,
      nextVisibleAt: at("2026-09-28T10:30:00Z"),
    },
  },
  {
    name: "holds a new publisher's release 7 days past the window, and a release of unknown trust data once it is due",
    crate: "demo",
    text: TRUST_FILE,
    window: D7,
    now: NOW,
    record: TRUST_RECORD,
    prePubtimeInference: false,
    policy: null,
    expected: {
      reasons: ["visible", "trust-data-unknown", "too-young", "trust-signal"],
      body: EIGHT_DAYS_OLD,
      nextVisibleAt: at("2026-09-28T12:00:00Z"),
    },
  },
  {
    name: "shows a new publisher's release once the window and the extra 7 days are over",
    crate: "demo",
    text: TRUST_FILE,
    window: D7,
    now: at("2026-09-28T12:00:00Z"),
    record: TRUST_RECORD,
    prePubtimeInference: false,
    policy: null,
    expected: {
      reasons: ["visible", "trust-data-unknown", "trust-signal", "visible"],
      body: EIGHT_DAYS_OLD + EXACTLY_SEVEN_DAYS_OLD,
      nextVisibleAt: at("2026-10-03T12:00:00Z"),
    },
  },
  {
    name: "[trust] new-publisher = 0d and unknown-trust-data = ignore leave the window alone",
    crate: "demo",
    text: TRUST_FILE,
    window: D7,
    now: NOW,
    record: TRUST_RECORD,
    prePubtimeInference: false,
    policy: policy({
      trust: { extraWait: { ...DEFAULT_POLICY.trust.extraWait, "new-publisher": 0 }, unknownData: "ignore" },
    }),
    expected: {
      reasons: ["visible", "visible", "too-young", "visible"],
      body: EIGHT_DAYS_OLD + EIGHT_DAYS_OLD_UNRECORDED + EXACTLY_SEVEN_DAYS_OLD,
      nextVisibleAt: at("2026-09-26T12:00:00Z"),
    },
  },
];

/**
 * A vector that is wrong on purpose (it claims a 2-day-old version is visible under /3d/). Injected only when the
 * build script is asked to, to prove that a mismatch inside the engine fails the build.
 */
export const DELIBERATELY_WRONG_VECTOR: EngineVector = {
  name: "deliberately wrong: claims a 2-day-old version is visible under /3d/",
  crate: "demo",
  text: TWO_DAYS_OLD,
  window: D3,
  now: NOW,
  record: null,
  prePubtimeInference: false,
  policy: null,
  expected: { reasons: ["visible"], body: TWO_DAYS_OLD },
};
