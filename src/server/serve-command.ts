import { Command, Option } from "commander";
import { DEFAULT_UPSTREAM_TIMEOUT_MS } from "../core/crate-decider.ts";
import type { Policy } from "../core/policy-document.ts";
import { DEFAULT_CACHE_MEMORY_BYTES, parseByteSize } from "../node/cache-memory.ts";
import { loadPolicyFile } from "../node/policy-file.ts";
import { PRE_PUBTIME_INFERENCE_MODES, type PrePubtimeInferenceMode } from "../node/pre-pubtime-inference.ts";
import { DEFAULT_UPSTREAM, parseUpstreamUrl } from "../node/upstream-url.ts";
import { UserError } from "../node/user-error.ts";
import { DEFAULT_DB_PATH } from "../store/timestamp-database.ts";
import { DEFAULT_LISTEN, parseListenAddress } from "./listen-address.ts";
import { startCooldownServer } from "./start-server.ts";

interface ServeFlags {
  listen: string;
  upstream: string;
  db: string;
  prePubtimeInference: PrePubtimeInferenceMode;
  upstreamTimeout: string;
  quiet: boolean;
  policy?: string;
  cacheMemory: string;
  metrics: "on" | "off";
}

/** `crates-cooldown serve`: the proxy on node:http until SIGTERM or SIGINT; SIGHUP reads the policy file again. */
export function serveCommand(): Command {
  return new Command("serve")
    .description("serve the cooldown index over HTTP (cargo registry URL: sparse+http://HOST:PORT/7d/)")
    .option("--listen <host:port>", "address to listen on; port 0 picks a free one", DEFAULT_LISTEN)
    .option("--upstream <url>", "upstream sparse index", DEFAULT_UPSTREAM)
    .option("--db <path>", "SQLite timestamp database (created when absent)", DEFAULT_DB_PATH)
    .addOption(
      new Option(
        "--pre-pubtime-inference <mode>",
        "treat index files without any pubtime as published before crates.io turned pubtime on (auto: only for https://index.crates.io)",
      )
        .choices(PRE_PUBTIME_INFERENCE_MODES)
        .default("auto"),
    )
    .option(
      "--upstream-timeout <seconds>",
      "answer 503 when upstream takes longer",
      String(DEFAULT_UPSTREAM_TIMEOUT_MS / 1000),
    )
    .option("--policy <path>", "policy file (TOML): yanked/unknown-age handling, exceptions, security-fix admission")
    .option(
      "--cache-memory <size>",
      "one memory bound for every in-memory cache together (upstream files and filtered answers), e.g. 256MiB or 1GiB",
      `${DEFAULT_CACHE_MEMORY_BYTES / 1024 ** 2}MiB`,
    )
    .addOption(
      new Option("--metrics <on|off>", "Prometheus metrics on /-/metrics").choices(["on", "off"]).default("on"),
    )
    .option("--quiet", "no access log on stderr", false)
    .action(async (flags: ServeFlags) => {
      // A policy that cannot be read stops the server before it listens: never serve under a policy nobody meant.
      const policy = flags.policy === undefined ? undefined : loadPolicyFile(flags.policy);
      // Listening for signals before announcing readiness: whoever reads the line may signal at once.
      const stopSignal = untilStopSignal();
      const running = await startCooldownServer({
        listen: parseListenAddress(flags.listen),
        upstream: parseUpstreamUrl(flags.upstream),
        dbPath: flags.db,
        prePubtimeInference: flags.prePubtimeInference,
        upstreamTimeoutMs: parseSeconds(flags.upstreamTimeout) * 1000,
        quiet: flags.quiet,
        cacheMemoryBytes: parseCacheMemory(flags.cacheMemory),
        metrics: flags.metrics === "on",
        ...(policy === undefined ? {} : { policy }),
      });
      const reload = () => reloadPolicy(flags.policy, running.usePolicy);
      process.on("SIGHUP", reload);
      process.stdout.write(`listening on ${running.url}\n`);
      await stopSignal;
      process.off("SIGHUP", reload);
      await running.close();
    });
}

/**
 * SIGHUP: the policy file is read again and applies to the next request. A file that no longer reads leaves the
 * previous policy in force (the server keeps serving under a policy someone meant) and says why on stderr.
 */
function reloadPolicy(path: string | undefined, usePolicy: (policy: Policy) => void): void {
  if (path === undefined) {
    process.stderr.write("SIGHUP: no --policy file to read again; nothing changed\n");
    return;
  }
  try {
    usePolicy(loadPolicyFile(path));
    process.stderr.write(`SIGHUP: policy read again from ${path}; it applies from the next request\n`);
  } catch (error) {
    process.stderr.write(
      `SIGHUP: policy NOT changed, still serving under the previous one: ${error instanceof Error ? error.message : String(error)}\n`,
    );
  }
}

function parseCacheMemory(text: string): number {
  const bytes = parseByteSize(text);
  if (bytes === null || bytes < 1024 * 1024)
    throw new UserError(`--cache-memory "${text}" is not a size of at least 1MiB, e.g. 256MiB or 1GiB`);
  return bytes;
}

function parseSeconds(text: string): number {
  const seconds = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || seconds <= 0 || seconds > 600) {
    throw new UserError(`--upstream-timeout "${text}" is not a number of seconds above 0 and at most 600, e.g. 15`);
  }
  return seconds;
}

/** Resolves on the first SIGTERM or SIGINT; a second one gets Node's default (immediate exit). */
function untilStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
      resolve(signal);
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
}
