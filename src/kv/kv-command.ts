import { existsSync } from "node:fs";
import type { Command } from "commander";
import { loadPolicyFile } from "../node/policy-file.ts";
import { DEFAULT_RETRY_POLICY } from "../node/retry.ts";
import { UserError } from "../node/user-error.ts";
import { DEFAULT_DB_PATH, TimestampDatabase } from "../store/timestamp-database.ts";
import { DEFAULT_KV_BATCH_LIMITS } from "./kv-batch-chunks.ts";
import { exportKvStore } from "./kv-export.ts";
import { kvPushProgressOn } from "./kv-progress.ts";
import { DEFAULT_FASTLY_API, type KvPushSummary, pushToKv } from "./kv-push.ts";

/** Exit status of a push stopped by a rate limit it would have waited too long for: temporary, run again later. */
export const EXIT_RATE_LIMITED = 75;
/** Exit status of a usage problem (missing token, bad flag). */
export const EXIT_USAGE = 2;

interface PushFlags {
  storeId: string;
  api: string;
  db: string;
  batchLines: string;
  batchBytes: string;
  maxWait: string;
  policy?: string;
  serviceId?: string;
}

interface ExportFlags {
  out: string;
  db: string;
  policy?: string;
}

/** Adds `kv push` and `kv export` to the CLI. */
export function registerKvCommands(program: Command): void {
  const kv = program
    .command("kv")
    .description("write the timestamp database to a Fastly KV Store (or a local KV file)");

  kv.command("push")
    .description("send crates changed since the last push to a Fastly KV Store (token from FASTLY_API_TOKEN)")
    .requiredOption("--store-id <id>", "the KV store's ID (fastly kv-store list)")
    .option("--api <url>", "Fastly API base URL", DEFAULT_FASTLY_API)
    .option("--db <path>", "SQLite timestamp database", DEFAULT_DB_PATH)
    .option("--batch-lines <n>", "most keys per batch request", String(DEFAULT_KV_BATCH_LIMITS.maxLines))
    .option("--batch-bytes <n>", "most body bytes per batch request", String(DEFAULT_KV_BATCH_LIMITS.maxBytes))
    .option(
      "--max-wait <seconds>",
      "longest wait for a rate limit to reset; a longer one stops the push (run it again later)",
      String(DEFAULT_RETRY_POLICY.maxWaitMs / 1000),
    )
    .option(
      "--policy <path>",
      "policy file (TOML) to write to the `_policy` key the edge reads; without it that key is left as it is",
    )
    .option(
      "--service-id <id>",
      "the edge's Fastly service: purge its cached answers of the crates sent (every answer and its cached policy when a policy is written), so they apply at once; the token then needs purge_select",
    )
    .action(async function (this: Command, flags: PushFlags) {
      const token = process.env.FASTLY_API_TOKEN?.trim() ?? "";
      if (token === "") {
        this.error("error: FASTLY_API_TOKEN is not set; export a Fastly API token with write access to the KV store", {
          exitCode: EXIT_USAGE,
          code: "crates-cooldown.kv.no-token",
        });
      }
      const apiUrl = parseApiUrl(flags.api);
      const limits = {
        maxLines: positiveInteger("--batch-lines", flags.batchLines),
        maxBytes: positiveInteger("--batch-bytes", flags.batchBytes),
      };
      const maxWaitMs = positiveInteger("--max-wait", flags.maxWait, true) * 1000;
      const serviceId = flags.serviceId === undefined ? undefined : nonEmpty("--service-id", flags.serviceId);
      // A policy that cannot be read is refused before anything is sent: never push a policy nobody meant.
      const policy = flags.policy === undefined ? undefined : loadPolicyFile(flags.policy, EXIT_USAGE);
      if (!existsSync(flags.db))
        throw new UserError(
          `no timestamp database at ${flags.db}; run \`crates-cooldown ingest dump\` first or pass --db`,
        );

      const database = new TimestampDatabase(flags.db);
      const interrupt = new AbortController();
      const onSignal = () => interrupt.abort();
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      try {
        const summary = await pushToKv({
          database,
          storeId: flags.storeId,
          token,
          apiUrl,
          limits,
          retryPolicy: { ...DEFAULT_RETRY_POLICY, maxWaitMs },
          progress: kvPushProgressOn(process.stderr),
          signal: interrupt.signal,
          ...(policy === undefined ? {} : { policy }),
          ...(serviceId === undefined ? {} : { purge: { serviceId } }),
        });
        process.stdout.write(`${describePush(summary)}\n`);
        process.exitCode = reportPushOutcome(summary);
      } catch (error) {
        if (!interrupt.signal.aborted) throw error;
        process.stderr.write("kv push interrupted: crates accepted so far are marked pushed; run it again to finish\n");
        process.exitCode = 130;
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        database.close();
      }
    });

  kv.command("export")
    .description(
      'write the whole store as the JSON file fastly.toml\'s [local_server.kv_stores] reads (format = "json")',
    )
    .requiredOption("--out <path>", "file to write, e.g. fastly/local-kv-store.json (replaced atomically)")
    .option("--db <path>", "SQLite timestamp database", DEFAULT_DB_PATH)
    .option("--policy <path>", "policy file (TOML) to include as the `_policy` key")
    .action((flags: ExportFlags) => {
      const policy = flags.policy === undefined ? undefined : loadPolicyFile(flags.policy, EXIT_USAGE);
      if (!existsSync(flags.db))
        throw new UserError(
          `no timestamp database at ${flags.db}; run \`crates-cooldown ingest dump\` first or pass --db`,
        );
      const database = new TimestampDatabase(flags.db, { readonly: true });
      try {
        const summary = exportKvStore(database, flags.out, policy);
        const skipped = summary.skipped > 0 ? ` (${summary.skipped} names that are not crate names left out)` : "";
        process.stdout.write(
          `kv export: ${summary.crates} crates and the freshness key written to ${summary.path}, ${(summary.bytes / 1e6).toFixed(1)} MB in ${(summary.durationMs / 1000).toFixed(2)} s${skipped}\n`,
        );
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOENT" || code === "EACCES" || code === "EISDIR")
          throw new UserError(`cannot write ${flags.out}: ${(error as Error).message}`);
        throw error;
      } finally {
        database.close();
      }
    });
}

/** The one-line summary every push prints. */
export function describePush(s: KvPushSummary): string {
  const parts = [
    `${s.cratesSent} of ${s.pending} crates sent in ${s.batches} batch requests`,
    `${s.retries} retries`,
    `${s.rejected.length} rejected`,
  ];
  if (s.skipped.length > 0) parts.push(`${s.skipped.length} skipped (not crate names)`);
  parts.push(s.freshnessWritten ? "freshness key written" : "freshness key not written");
  if (s.policyWritten) parts.push("policy key written");
  if (s.purge !== null) {
    const what = s.purge.allAnswers ? "every cached answer" : `${s.purge.keysPurged} surrogate keys`;
    parts.push(
      s.purge.error === null
        ? `purged ${what} of service ${s.purge.serviceId} in ${s.purge.requests} requests`
        : `purge of service ${s.purge.serviceId} failed after ${s.purge.keysPurged} keys`,
    );
  }
  const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  return `kv push to store ${s.storeId}: ${parts.join(", ")}; ${seconds(s.durationMs)} (preparing ${seconds(s.prepareMs)}, sending ${seconds(s.sendMs)})`;
}

/** Prints what went wrong, if anything, and returns the exit status. */
function reportPushOutcome(s: KvPushSummary): number {
  for (const line of s.rejected.slice(0, 20))
    process.stderr.write(`kv push: ${line.key} not applied (${line.code}: ${line.reason})\n`);
  if (s.rejected.length > 20) process.stderr.write(`kv push: … and ${s.rejected.length - 20} more lines not applied\n`);
  if (s.stop?.reason === "rate-limited") {
    process.stderr.write(
      `kv push stopped: ${s.stop.message}; the limit resets at ${new Date(s.stop.resumeAt).toISOString()}, run it again after that (${s.pending - s.cratesSent} crates still to send, nothing is lost)\n`,
    );
    return EXIT_RATE_LIMITED;
  }
  if (s.stop?.reason === "failed") {
    process.stderr.write(`error: ${s.stop.message}\n`);
    return 1;
  }
  if (s.rejected.length > 0) {
    process.stderr.write(
      `error: ${s.rejected.length} lines were not applied; their crates stay pending for the next push\n`,
    );
    return 1;
  }
  if (s.purge?.error != null) {
    process.stderr.write(
      `error: purge failed: ${s.purge.error}; the records were written and apply at the edge as its cached answers end instead (within upstream_max_ttl_seconds, 60 s by default; a policy within 30 s)\n`,
    );
    return 1;
  }
  return 0;
}

function parseApiUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UserError(`--api "${text}" is not a URL; expected e.g. https://api.fastly.com`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new UserError(`--api "${text}" must be an http(s) URL, e.g. https://api.fastly.com`);
  return text.replace(/\/+$/, "");
}

function nonEmpty(flag: string, text: string): string {
  const value = text.trim();
  if (value === "") throw new UserError(`${flag} is empty; expected a Fastly service ID (fastly service list)`);
  return value;
}

function positiveInteger(flag: string, text: string, zeroAllowed = false): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || (!zeroAllowed && value === 0) || !Number.isSafeInteger(value)) {
    throw new UserError(`${flag} "${text}" is not a whole number${zeroAllowed ? "" : " above 0"}`);
  }
  return value;
}
