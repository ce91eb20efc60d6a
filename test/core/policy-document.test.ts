import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";
import { defaultRules } from "../../src/core/policy.ts";
import {
  applyPolicy,
  DEFAULT_POLICY,
  decodePolicy,
  describeExceptions,
  encodePolicy,
  PolicyError,
  readPolicy,
} from "../../src/core/policy-document.ts";

const read = (toml: string) => readPolicy(parse(toml) as Record<string, unknown>);

describe("readPolicy", () => {
  it("gives the defaults for an empty file: hide yanked, hide unknown ages, admit security fixes after 1 h", () => {
    expect(read("")).toEqual(DEFAULT_POLICY);
    expect(DEFAULT_POLICY).toMatchObject({
      yanked: "hide",
      unknownPublishTime: "hide",
      securityFixAdmission: true,
      securityFixFloor: 3600,
      trust: {
        extraWait: {
          "new-publisher": 7 * 86_400,
          "trusted-publishing-downgrade": 14 * 86_400,
          "recent-owner": 7 * 86_400,
        },
        unknownData: "hide",
      },
    });
  });

  it("reads every key", () => {
    const policy = read(`
yanked = "keep"
unknown-publish-time = "show"
security-fix-admission = false
security-fix-floor = "30m"

[[exception]]
crate = "RusTLS"
version = "0.23.19"
reason = "gateway needs the ALPN fix"
expires = 2026-12-01T00:00:00Z

[[exception]]
crate = "serde"
version = "1.0.300-rc.1"
reason = "testing"
expires = 2026-12-15

[trust]
new-publisher = "12h"
trusted-publishing-downgrade = "30d"
recent-owner = "0d"
unknown-trust-data = "ignore"
`);
    expect(policy).toEqual({
      yanked: "keep",
      unknownPublishTime: "show",
      securityFixAdmission: false,
      securityFixFloor: 1800,
      exceptions: [
        {
          crate: "rustls",
          version: "0.23.19",
          reason: "gateway needs the ALPN fix",
          expires: Date.UTC(2026, 11, 1) / 1000,
        },
        { crate: "serde", version: "1.0.300-rc.1", reason: "testing", expires: Date.UTC(2026, 11, 15) / 1000 },
      ],
      trust: {
        extraWait: { "new-publisher": 12 * 3600, "trusted-publishing-downgrade": 30 * 86_400, "recent-owner": 0 },
        unknownData: "ignore",
      },
    });
  });

  it.each([
    ['colour = "red"', 'unknown key "colour"'],
    ['yanked = "drop"', '"yanked" must be one of "hide", "keep"'],
    ['unknown-publish-time = "maybe"', '"unknown-publish-time" must be one of "hide", "show"'],
    ['security-fix-admission = "yes"', '"security-fix-admission" must be true or false'],
    ['security-fix-floor = "1 hour"', '"security-fix-floor" must be a duration'],
    ['security-fix-floor = "31d"', "at most 30d"],
    ['exception = "x"', '"exception" must be an array of tables'],
    ['[[exception]]\nversion = "1.0.0"\nreason = "r"\nexpires = 2026-12-01', 'exception #1: missing "crate"'],
    [
      '[[exception]]\ncrate = "no such"\nversion = "1.0.0"\nreason = "r"\nexpires = 2026-12-01',
      'exception #1 (no such 1.0.0): "no such" is not a lowercase crate name',
    ],
    ['[[exception]]\ncrate = "serde"\nreason = "r"\nexpires = 2026-12-01', 'exception #1 (serde): missing "version"'],
    [
      '[[exception]]\ncrate = "serde"\nversion = "^1.0"\nreason = "r"\nexpires = 2026-12-01',
      'exception #1 (serde ^1.0): "^1.0" is not one exact version',
    ],
    ['[[exception]]\ncrate = "serde"\nversion = "1.0"\nreason = "r"\nexpires = 2026-12-01', "is not one exact version"],
    [
      '[[exception]]\ncrate = "serde"\nversion = "1.0.0"\nexpires = 2026-12-01',
      'exception #1 (serde 1.0.0): missing "reason"',
    ],
    ['[[exception]]\ncrate = "serde"\nversion = "1.0.0"\nreason = "  "\nexpires = 2026-12-01', 'missing "reason"'],
    [
      '[[exception]]\ncrate = "serde"\nversion = "1.0.0"\nreason = "r"',
      'exception #1 (serde 1.0.0): missing "expires"',
    ],
    [
      '[[exception]]\ncrate = "serde"\nversion = "1.0.0"\nreason = "r"\nexpires = "next week"',
      '"expires" must be a date or date-time',
    ],
    [
      '[[exception]]\ncrate = "serde"\nversion = "1.0.0"\nreason = "r"\nexpires = 2026-12-01\nuntil = 2027-01-01',
      'exception #1 (serde 1.0.0): unknown key "until"',
    ],
    [
      '[[exception]]\ncrate = "a"\nversion = "1.0.0"\nreason = "r"\nexpires = 2026-12-01\n[[exception]]\ncrate = "b"\nversion = "2"\nreason = "r"\nexpires = 2026-12-01',
      "exception #2 (b 2)",
    ],
    ['trust = "on"', '"trust" must be a table ([trust])'],
    ['[trust]\nnew-publisher = "1 week"', '[trust] "new-publisher" must be a duration like "7d", "12h" or "0d" (off)'],
    ['[trust]\nrecent-owner = "91d"', "at most 90d"],
    ['[trust]\nunknown-trust-data = "show"', '"unknown-trust-data" must be one of "hide", "ignore"'],
    ['[trust]\nnew-owner = "7d"', '[trust]: unknown key "new-owner"'],
  ])("refuses %j naming what is wrong", (toml, message) => {
    expect(() => read(toml)).toThrow(PolicyError);
    expect(() => read(toml)).toThrow(message);
  });
});

describe("the policy's KV record and its use", () => {
  const policy = read(
    `yanked = "keep"\nsecurity-fix-floor = "2h"\n[[exception]]\ncrate = "serde"\nversion = "1.0.0"\nreason = "r"\nexpires = 2026-12-01T10:00:00Z\n`,
  );

  it("round-trips through the record the edge reads", () => {
    expect(decodePolicy(encodePolicy(policy))).toEqual(policy);
  });

  it("writes format 1 while [trust] is the default, so an edge built before format 2 keeps reading it", () => {
    expect(JSON.parse(encodePolicy(policy)).v).toBe(1);
    const trusting = read(`[trust]\nnew-publisher = "3d"\nunknown-trust-data = "ignore"\n`);
    const record = JSON.parse(encodePolicy(trusting));
    expect(record).toMatchObject({
      v: 2,
      trust: { extra_wait: { "new-publisher": 3 * 86_400 }, unknown_data: "ignore" },
    });
    expect(decodePolicy(encodePolicy(trusting))).toEqual(trusting);
    expect(() => decodePolicy(JSON.stringify({ ...record, v: 3 }))).toThrow("policy record format 3 is not understood");
  });

  it("carries [trust] into the rules, leaving whether signals apply (crates.io or not) to the home", () => {
    const trusting = read(`[trust]\nrecent-owner = "1d"\n`);
    expect(applyPolicy(defaultRules(true), trusting).trust).toMatchObject({
      enabled: true,
      extraWait: { "recent-owner": 86_400 },
    });
    expect(applyPolicy(defaultRules(false), trusting).trust.enabled).toBe(false);
  });

  it("sets the visibility rules, keeping the home's inference setting", () => {
    const rules = applyPolicy(defaultRules(true), policy);
    expect(rules).toMatchObject({
      yanked: "keep",
      unknownPublishTime: "hide",
      securityFixes: { enabled: true, floor: 7200 },
      prePubtimeInference: { enabled: true },
    });
    expect(rules.exceptions).toHaveLength(1);
  });

  it("lists exceptions as in force or expired, for /-/status", () => {
    const expires = Date.UTC(2026, 11, 1, 10) / 1000;
    expect(describeExceptions(policy.exceptions, expires - 1)[0]).toMatchObject({
      crate: "serde",
      expired: false,
      expires: "2026-12-01T10:00:00Z",
    });
    expect(describeExceptions(policy.exceptions, expires)[0]?.expired).toBe(true);
  });
});
