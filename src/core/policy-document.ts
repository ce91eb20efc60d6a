import { valid } from "semver";
import { crateNameProblem } from "./index-path.ts";
import { DEFAULT_SECURITY_FIX_FLOOR, type VersionException, type VisibilityRules } from "./policy.ts";
import { formatRfc3339, type UnixSeconds } from "./time.ts";
import {
  DEFAULT_TRUST_EXTRA_WAIT,
  MAX_TRUST_EXTRA_WAIT,
  TRUST_SIGNAL_NAMES,
  type TrustSignalName,
} from "./trust-signals.ts";

/** What a policy file sets; everything it leaves out keeps its default. */
export interface Policy {
  readonly yanked: "hide" | "keep";
  readonly unknownPublishTime: "hide" | "show";
  readonly securityFixAdmission: boolean;
  readonly securityFixFloor: UnixSeconds;
  readonly exceptions: readonly VersionException[];
  /** `[trust]`: the extra wait per trust signal (0 = off) and what unknown trust data does. */
  readonly trust: TrustPolicy;
}

export interface TrustPolicy {
  readonly extraWait: Readonly<Record<TrustSignalName, UnixSeconds>>;
  readonly unknownData: "hide" | "ignore";
}

export const DEFAULT_TRUST_POLICY: TrustPolicy = { extraWait: DEFAULT_TRUST_EXTRA_WAIT, unknownData: "hide" };

export const DEFAULT_POLICY: Policy = {
  yanked: "hide",
  unknownPublishTime: "hide",
  securityFixAdmission: true,
  securityFixFloor: DEFAULT_SECURITY_FIX_FLOOR,
  exceptions: [],
  trust: DEFAULT_TRUST_POLICY,
};

/** A policy that cannot be used, with a message naming the key or entry at fault. */
export class PolicyError extends Error {
  override readonly name = "PolicyError";
}

const TOP_LEVEL_KEYS = [
  "yanked",
  "unknown-publish-time",
  "security-fix-admission",
  "security-fix-floor",
  "exception",
  "trust",
];
const TRUST_KEYS = [...TRUST_SIGNAL_NAMES, "unknown-trust-data"];

const EXCEPTION_KEYS = ["crate", "version", "reason", "expires"];
/** The longest floor accepted: beyond a month it would be a window, not a floor. */
const MAX_FLOOR: UnixSeconds = 30 * 86_400;

/**
 * Reads a parsed policy document (TOML tables as plain objects, datetimes as `Date`) into a Policy. Unknown keys,
 * missing reasons or expiry, and bad versions are refused: a policy that is not what its author meant must not run.
 */
export function readPolicy(document: Record<string, unknown>): Policy {
  for (const key of Object.keys(document)) {
    if (!TOP_LEVEL_KEYS.includes(key))
      throw new PolicyError(`unknown key "${key}" (known: ${TOP_LEVEL_KEYS.join(", ")})`);
  }
  const entries = document.exception ?? [];
  if (!Array.isArray(entries)) throw new PolicyError('"exception" must be an array of tables ([[exception]])');
  return {
    yanked: oneOf(document.yanked, "yanked", ["hide", "keep"] as const, DEFAULT_POLICY.yanked),
    unknownPublishTime: oneOf(
      document["unknown-publish-time"],
      "unknown-publish-time",
      ["hide", "show"] as const,
      DEFAULT_POLICY.unknownPublishTime,
    ),
    securityFixAdmission: booleanOf(
      document["security-fix-admission"],
      "security-fix-admission",
      DEFAULT_POLICY.securityFixAdmission,
    ),
    securityFixFloor: floorOf(document["security-fix-floor"]),
    exceptions: entries.map((entry: unknown, index: number) => readException(entry, index + 1)),
    trust: readTrust(document.trust),
  };
}

function readTrust(table: unknown): TrustPolicy {
  if (table === undefined) return DEFAULT_TRUST_POLICY;
  if (typeof table !== "object" || table === null || Array.isArray(table) || table instanceof Date)
    throw new PolicyError('"trust" must be a table ([trust])');
  const fields = table as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!TRUST_KEYS.includes(key))
      throw new PolicyError(`[trust]: unknown key "${key}" (known: ${TRUST_KEYS.join(", ")})`);
  }
  const extraWait = {} as Record<TrustSignalName, UnixSeconds>;
  for (const name of TRUST_SIGNAL_NAMES) {
    const value = fields[name];
    const seconds = value === undefined ? DEFAULT_TRUST_EXTRA_WAIT[name] : durationOf(value);
    if (seconds === null || seconds > MAX_TRUST_EXTRA_WAIT)
      throw new PolicyError(`[trust] "${name}" must be a duration like "7d", "12h" or "0d" (off), at most 90d`);
    extraWait[name] = seconds;
  }
  return {
    extraWait,
    unknownData: oneOf(fields["unknown-trust-data"], "unknown-trust-data", ["hide", "ignore"] as const, "hide"),
  };
}

/** `"30m"`, `"12h"`, `"7d"` in seconds; null when not such a duration. */
function durationOf(value: unknown): UnixSeconds | null {
  const match = typeof value === "string" ? /^([0-9]+)(m|h|d)$/.exec(value) : null;
  return match === null ? null : Number(match[1]) * { m: 60, h: 3_600, d: 86_400 }[match[2] as "m" | "h" | "d"];
}

function readException(entry: unknown, number: number): VersionException {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry))
    throw new PolicyError(`exception #${number} is not a table`);
  const fields = entry as Record<string, unknown>;
  const label = `exception #${number}${typeof fields.crate === "string" ? ` (${fields.crate}${typeof fields.version === "string" ? ` ${fields.version}` : ""})` : ""}`;
  for (const key of Object.keys(fields)) {
    if (!EXCEPTION_KEYS.includes(key))
      throw new PolicyError(`${label}: unknown key "${key}" (known: ${EXCEPTION_KEYS.join(", ")})`);
  }
  if (typeof fields.crate !== "string") throw new PolicyError(`${label}: missing "crate"`);
  const crate = fields.crate.toLowerCase();
  const nameProblem = crateNameProblem(crate);
  if (nameProblem !== null) throw new PolicyError(`${label}: ${nameProblem}`);
  if (typeof fields.version !== "string")
    throw new PolicyError(`${label}: missing "version" (one exact version, e.g. "1.2.3")`);
  if (valid(fields.version) !== fields.version.replace(/^v/, "") || fields.version.startsWith("v")) {
    throw new PolicyError(
      `${label}: "${fields.version}" is not one exact version (ranges are not allowed), e.g. "1.2.3"`,
    );
  }
  if (typeof fields.reason !== "string" || fields.reason.trim() === "")
    throw new PolicyError(`${label}: missing "reason" (say why, for whoever reads it later)`);
  if (fields.expires === undefined)
    throw new PolicyError(`${label}: missing "expires" (exceptions must end by themselves)`);
  const expires = instantOf(fields.expires);
  if (expires === null)
    throw new PolicyError(`${label}: "expires" must be a date or date-time, e.g. 2026-12-31 or 2026-12-31T12:00:00Z`);
  return { crate, version: fields.version, reason: fields.reason.trim(), expires };
}

function oneOf<T extends string>(value: unknown, key: string, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value === "string" && (choices as readonly string[]).includes(value)) return value as T;
  throw new PolicyError(`"${key}" must be one of ${choices.map((c) => `"${c}"`).join(", ")}`);
}

function booleanOf(value: unknown, key: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value === "boolean") return value;
  throw new PolicyError(`"${key}" must be true or false`);
}

function floorOf(value: unknown): UnixSeconds {
  if (value === undefined) return DEFAULT_POLICY.securityFixFloor;
  const seconds = durationOf(value);
  if (seconds === null || seconds > MAX_FLOOR) {
    throw new PolicyError(`"security-fix-floor" must be a duration like "30m", "1h" or "2d", at most 30d`);
  }
  return seconds;
}

/** TOML offset date-times arrive as Date; local dates and times are read as UTC; strings must be RFC 3339 or a date. */
function instantOf(value: unknown): UnixSeconds | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : Math.floor(value.getTime() / 1000);
  if (typeof value !== "string") return null;
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/.test(value)) return null;
  const ms = Date.parse(
    /T|\s/.test(value) && !/(Z|[+-]\d{2}:\d{2})$/.test(value) ? `${value.replace(" ", "T")}Z` : value,
  );
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}

/** The visibility rules with a policy applied (the inference setting stays the home's). */
export function applyPolicy(rules: VisibilityRules, policy: Policy): VisibilityRules {
  return {
    ...rules,
    yanked: policy.yanked,
    unknownPublishTime: policy.unknownPublishTime,
    exceptions: policy.exceptions,
    securityFixes: { enabled: policy.securityFixAdmission, floor: policy.securityFixFloor },
    trust: { ...rules.trust, extraWait: policy.trust.extraWait, unknownData: policy.trust.unknownData },
  };
}

/** The KV key the job writes the policy to, for the edge. Starts with `_`: never a crate's key. */
export const POLICY_KV_KEY = "_policy";

/**
 * Policy as stored in KV: the same fields, times in Unix seconds. Version 2 adds `trust` (`extra_wait` in seconds per
 * signal, `unknown_data`); it is written only when `[trust]` differs from the defaults, so an edge built before it
 * keeps reading a policy that does not need it.
 */
export function encodePolicy(policy: Policy): string {
  const trustIsDefault =
    policy.trust.unknownData === DEFAULT_TRUST_POLICY.unknownData &&
    TRUST_SIGNAL_NAMES.every((name) => policy.trust.extraWait[name] === DEFAULT_TRUST_EXTRA_WAIT[name]);
  return JSON.stringify({
    v: trustIsDefault ? 1 : 2,
    yanked: policy.yanked,
    unknown_publish_time: policy.unknownPublishTime,
    security_fix_admission: policy.securityFixAdmission,
    security_fix_floor: policy.securityFixFloor,
    exceptions: policy.exceptions.map((e) => ({
      crate: e.crate,
      version: e.version,
      reason: e.reason,
      expires: e.expires,
    })),
    ...(trustIsDefault
      ? {}
      : { trust: { extra_wait: policy.trust.extraWait, unknown_data: policy.trust.unknownData } }),
  });
}

export function decodePolicy(text: string): Policy {
  const parsed = JSON.parse(text) as Record<string, unknown>;
  if (parsed.v !== 1 && parsed.v !== 2)
    throw new PolicyError(`policy record format ${JSON.stringify(parsed.v)} is not understood (this build reads 1, 2)`);
  const trust =
    parsed.v === 2 ? (parsed.trust as { extra_wait?: Record<string, unknown>; unknown_data?: unknown }) : null;
  if (
    trust !== null &&
    (typeof trust !== "object" || typeof trust.extra_wait !== "object" || trust.extra_wait === null)
  )
    throw new PolicyError("policy record format 2 has no trust settings");
  return readPolicy({
    yanked: parsed.yanked,
    "unknown-publish-time": parsed.unknown_publish_time,
    "security-fix-admission": parsed.security_fix_admission,
    "security-fix-floor": `${Math.floor(Number(parsed.security_fix_floor) / 60)}m`,
    exception: (parsed.exceptions as { crate: string; version: string; reason: string; expires: number }[]).map(
      (e) => ({
        ...e,
        expires: formatRfc3339(e.expires),
      }),
    ),
    ...(trust === null
      ? {}
      : {
          trust: {
            ...Object.fromEntries(
              TRUST_SIGNAL_NAMES.map((name) => [
                name,
                `${Math.floor(Number((trust.extra_wait as Record<string, unknown>)[name]) / 60)}m`,
              ]),
            ),
            "unknown-trust-data": trust.unknown_data,
          },
        }),
  });
}

/** Exceptions as `/-/status` lists them: in force or expired. */
export function describeExceptions(exceptions: readonly VersionException[], now: UnixSeconds) {
  return exceptions.map((e) => ({
    crate: e.crate,
    version: e.version,
    reason: e.reason,
    expires: formatRfc3339(e.expires),
    expired: now >= e.expires,
  }));
}
