import { ConfigStore } from "fastly:config-store";
import { defaultRules, type VisibilityRules } from "../core/policy.ts";
import type { UnixSeconds } from "../core/time.ts";

/** The Config Store the edge reads its knobs from; every key is optional. */
export const CONFIG_STORE = "cooldown_config";

/** What an operator may change without redeploying. */
export interface EdgeSettings {
  /** Longest the edge cache keeps an upstream index file (upstream's own max-age still wins when shorter). */
  readonly upstreamMaxTtlSeconds: UnixSeconds;
  /** The documented "no pubtime anywhere in a crates.io file means it predates the switch-on" rule. */
  readonly prePubtimeInference: boolean;
  /** Whether filtered answers are kept in the Core Cache for their `max-age` (src/edge/answer-cache.ts). */
  readonly answerCache: boolean;
  /** Whether scans of upstream files are kept in the Core Cache under their ETag (src/edge/kept-scans.ts). */
  readonly scanCache: boolean;
  /** Whether bodies of many lines are filtered by finding their plain lines in place (src/core/plain-line-filter.ts). */
  readonly plainLines: boolean;
  /** Whether a computed filtered answer says where its time went (`Server-Timing`, src/edge/server-timing.ts). */
  readonly serverTiming: boolean;
  /** The named log endpoint the decision log writes to (src/edge/decision-log.ts); null: no decision log. */
  readonly logEndpoint: string | null;
}

/** A yank or a new version reaches the edge within a minute; revalidating upstream with its ETag is cheap. */
export const DEFAULT_EDGE_SETTINGS: EdgeSettings = {
  upstreamMaxTtlSeconds: 60,
  prePubtimeInference: true,
  answerCache: true,
  scanCache: true,
  plainLines: true,
  serverTiming: false,
  logEndpoint: null,
};

export const SETTING_KEYS = {
  upstreamMaxTtlSeconds: "upstream_max_ttl_seconds",
  prePubtimeInference: "pre_pubtime_inference",
  answerCache: "answer_cache",
  scanCache: "scan_cache",
  plainLines: "plain_lines",
  serverTiming: "server_timing",
  logEndpoint: "log_endpoint",
} as const;

/**
 * Settings from raw Config Store values. A value that cannot be read keeps its default and says so in the log, so a
 * typo never takes the service down.
 */
export function parseEdgeSettings(read: (key: string) => string | null): EdgeSettings {
  return {
    upstreamMaxTtlSeconds: parseSeconds(
      read(SETTING_KEYS.upstreamMaxTtlSeconds),
      SETTING_KEYS.upstreamMaxTtlSeconds,
      DEFAULT_EDGE_SETTINGS.upstreamMaxTtlSeconds,
    ),
    prePubtimeInference: parseSwitch(
      read(SETTING_KEYS.prePubtimeInference),
      SETTING_KEYS.prePubtimeInference,
      DEFAULT_EDGE_SETTINGS.prePubtimeInference,
    ),
    answerCache: parseSwitch(
      read(SETTING_KEYS.answerCache),
      SETTING_KEYS.answerCache,
      DEFAULT_EDGE_SETTINGS.answerCache,
    ),
    scanCache: parseSwitch(read(SETTING_KEYS.scanCache), SETTING_KEYS.scanCache, DEFAULT_EDGE_SETTINGS.scanCache),
    plainLines: parseSwitch(read(SETTING_KEYS.plainLines), SETTING_KEYS.plainLines, DEFAULT_EDGE_SETTINGS.plainLines),
    serverTiming: parseSwitch(
      read(SETTING_KEYS.serverTiming),
      SETTING_KEYS.serverTiming,
      DEFAULT_EDGE_SETTINGS.serverTiming,
    ),
    logEndpoint: parseName(read(SETTING_KEYS.logEndpoint)),
  };
}

/** Reads the Config Store; only callable while handling a request (Compute refuses stores at build time). */
export function readEdgeSettings(): EdgeSettings {
  let store: ConfigStore;
  try {
    store = new ConfigStore(CONFIG_STORE);
  } catch {
    // A service without the store linked runs on defaults.
    return DEFAULT_EDGE_SETTINGS;
  }
  return parseEdgeSettings((key) => store.get(key));
}

/** crates.io rules, with the inference switch as configured. */
export function cratesIoRulesWith(settings: EdgeSettings): VisibilityRules {
  const cratesIo = defaultRules(true);
  return {
    ...cratesIo,
    prePubtimeInference: { ...cratesIo.prePubtimeInference, enabled: settings.prePubtimeInference },
  };
}

function parseSeconds(raw: string | null, key: string, fallback: UnixSeconds): UnixSeconds {
  if (raw === null) return fallback;
  const trimmed = raw.trim();
  if (/^\d{1,9}$/.test(trimmed)) return Number(trimmed);
  console.warn(
    `config ${CONFIG_STORE}.${key}: expected whole seconds (e.g. 60), got ${JSON.stringify(raw)}; using ${fallback}`,
  );
  return fallback;
}

/** A name, trimmed; empty (or only spaces) is the same as absent. */
function parseName(raw: string | null): string | null {
  const name = raw?.trim() ?? "";
  return name === "" ? null : name;
}

function parseSwitch(raw: string | null, key: string, fallback: boolean): boolean {
  if (raw === null) return fallback;
  const value = raw.trim().toLowerCase();
  if (value === "on") return true;
  if (value === "off") return false;
  console.warn(
    `config ${CONFIG_STORE}.${key}: expected "on" or "off", got ${JSON.stringify(raw)}; using ${fallback ? "on" : "off"}`,
  );
  return fallback;
}
