import { type Command, Option } from "commander";
import { type CrateDecider, createCrateDecider } from "../core/crate-decider.ts";
import { type CooldownWindow, parseWindow } from "../core/window.ts";
import { createHttpUpstream } from "../node/http-upstream.ts";
import { openTimestampDatabase } from "../node/open-database.ts";
import { loadPolicyFile } from "../node/policy-file.ts";
import {
  PRE_PUBTIME_INFERENCE_MODES,
  type PrePubtimeInferenceMode,
  rulesForUpstream,
} from "../node/pre-pubtime-inference.ts";
import { DEFAULT_UPSTREAM, parseUpstreamUrl } from "../node/upstream-url.ts";
import { UserError } from "../node/user-error.ts";
import { DEFAULT_DB_PATH, type TimestampDatabase } from "../store/timestamp-database.ts";

/** How `explain` and `check` introduce themselves to the upstream. */

/** The flags `explain` and `check` share: where the decisions' inputs come from. */
export interface DecisionFlags {
  window: string;
  upstream: string;
  db: string;
  prePubtimeInference: PrePubtimeInferenceMode;
  policy?: string;
}

export function addDecisionOptions(command: Command): Command {
  return command
    .option("--window <window>", "cooldown window, as in the registry URL (e.g. 7d, 36h)", "7d")
    .option("--upstream <url>", "upstream sparse index", DEFAULT_UPSTREAM)
    .option("--db <path>", "SQLite timestamp database", DEFAULT_DB_PATH)
    .option("--policy <path>", "policy file (TOML), as for serve")
    .addOption(
      new Option("--pre-pubtime-inference <mode>", "as for serve (auto: only for https://index.crates.io)")
        .choices(PRE_PUBTIME_INFERENCE_MODES)
        .default("auto"),
    );
}

/**
 * The proxy's own decider, run locally: the same core, an HTTP upstream and the timestamp database, so the terminal
 * sees exactly what a server with these settings would serve.
 */
export function openLocalDecider(
  flags: DecisionFlags,
  exitCode = 1,
): { decide: CrateDecider; window: CooldownWindow; trustSignals: boolean; close: () => Promise<void> } {
  const parsed = parseWindow(flags.window);
  if (!parsed.ok) throw new UserError(`--window: ${parsed.message}`, { exitCode });
  if (parsed.window.seconds === 0)
    throw new UserError("--window 0d passes every version through; nothing to decide (try 7d)", { exitCode });
  const policy = flags.policy === undefined ? undefined : loadPolicyFile(flags.policy, exitCode);
  let upstreamUrl: URL;
  try {
    upstreamUrl = parseUpstreamUrl(flags.upstream);
  } catch (error) {
    throw new UserError((error as Error).message, { exitCode });
  }
  let database: TimestampDatabase;
  try {
    // A directory created for it is said on stderr, as for serve and the job: a mistyped --db does not go unnoticed.
    database = openTimestampDatabase(flags.db);
  } catch (error) {
    throw new UserError((error as Error).message, { exitCode });
  }
  const upstream = createHttpUpstream({ base: upstreamUrl, timeoutMs: 30_000 });
  const rules = rulesForUpstream(flags.prePubtimeInference, upstreamUrl, policy);
  const { decide } = createCrateDecider({
    upstream,
    publishTimes: database,
    rules,
    upstreamTimeoutMs: 30_000,
  });
  return {
    decide,
    window: parsed.window,
    trustSignals: rules.trust.enabled,
    close: async () => {
      await upstream.close();
      database.close();
    },
  };
}
