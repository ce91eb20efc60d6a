import type { Command } from "commander";
import { DEFAULT_ADVISORY_SOURCE } from "../advisories/ingest-advisories.ts";
import { dumpProgressOn, silentDumpProgress } from "../dump/dump-progress.ts";
import { DEFAULT_DUMP_SOURCE } from "../dump/dump-source.ts";
import { formatDumpSummary, ingestDump } from "../dump/ingest-dump.ts";
import { DEFAULT_API_BASE } from "../feed/crates-io-api.ts";
import { formatFeedSummary, ingestFeed } from "../feed/ingest-feed.ts";
import { DEFAULT_FEED_SOURCE } from "../feed/updates-feed.ts";
import { ingestUserAgent } from "../node/user-agent.ts";
import { UserError } from "../node/user-error.ts";
import { DEFAULT_DB_PATH } from "../store/timestamp-database.ts";
import { advisoriesCommand } from "./advisories-command.ts";
import { apiCommand } from "./api-command.ts";
import { DURATION_FORMAT, parseDuration } from "./duration.ts";
import { type ApiDrain, ingestWatch } from "./ingest-watch.ts";

interface DumpFlags {
  source: string;
  db: string;
  quiet: boolean;
}

interface FeedFlags {
  source: string;
  db: string;
}

interface WatchFlags {
  /** The API's URL, or false for `--no-api`. */
  api: string | false;
  apiEvery: string;
  apiMaxCrates: string;
  advisories: boolean;
  advisoriesEvery: string;
  advisoriesSource: string;
  feedEvery: string;
  dumpEvery: string;
  feedSource: string;
  dumpSource: string;
  db: string;
}

/**
 * Adds `ingest dump`, `ingest feed`, `ingest watch` (and `ingest advisories`) to the CLI; returns the `ingest`
 * command so other ingest subcommands can join it. Summaries go to stdout, progress and alarms to stderr.
 */
export function registerIngestCommands(program: Command): Command {
  const ingest = program
    .command("ingest")
    .description("fill the timestamp database from crates.io's database dump and updates feed");
  ingest.addCommand(advisoriesCommand());
  ingest.addCommand(apiCommand());

  ingest
    .command("dump")
    .description("apply crates.io's daily database dump in one streaming pass and one transaction (all or nothing)")
    .option("--source <url|path>", "the dump (db-dump.tar.gz) as an http(s) URL or a file", DEFAULT_DUMP_SOURCE)
    .option("--db <path>", "SQLite timestamp database (created when absent)", DEFAULT_DB_PATH)
    .option("--quiet", "no progress on stderr (the summary is still printed)", false)
    .action(async (flags: DumpFlags) => {
      const progress = flags.quiet ? silentDumpProgress : dumpProgressOn(process.stderr);
      const summary = await ingestDump({ source: flags.source, dbPath: flags.db, progress, signal: stopSignal() });
      process.stdout.write(`${formatDumpSummary(summary)}\n`);
    });

  ingest
    .command("feed")
    .description("poll crates.io's updates feed once (conditional GET); report a gap when polls were too far apart")
    .option("--source <url|path>", "the feed (rss/updates.xml) as an http(s) URL or a file", DEFAULT_FEED_SOURCE)
    .option("--db <path>", "SQLite timestamp database (created when absent)", DEFAULT_DB_PATH)
    .action(async (flags: FeedFlags) => {
      const summary = await ingestFeed({
        source: flags.source,
        dbPath: flags.db,
        warn: warnLine,
        signal: stopSignal(),
      });
      process.stdout.write(`${formatFeedSummary(summary)}\n`);
    });

  ingest
    .command("watch")
    .description(
      "keep running: poll the feed, ingest the dump, sync advisories and drain the crates.io API lookup queue on a schedule, retrying failures with back-off, until SIGTERM/SIGINT",
    )
    .option("--feed-every <duration>", `feed poll interval (${DURATION_FORMAT})`, "5m")
    .option("--dump-every <duration>", "dump ingest interval", "24h")
    .option("--feed-source <url|path>", "the feed", DEFAULT_FEED_SOURCE)
    .option("--dump-source <url|path>", "the dump", DEFAULT_DUMP_SOURCE)
    .option("--db <path>", "SQLite timestamp database (created when absent)", DEFAULT_DB_PATH)
    .option("--advisories-every <duration>", "RustSec advisory database sync interval (security-fix admission)", "6h")
    .option(
      "--advisories-source <url|path>",
      "rustsec/advisory-db as a folder, .tar.gz or URL",
      DEFAULT_ADVISORY_SOURCE,
    )
    .option("--no-advisories", "do not sync RustSec advisories")
    .option(
      "--api <url>",
      "crates.io's web API, for the queued publisher lookups (needs CRATES_COOLDOWN_CONTACT)",
      DEFAULT_API_BASE,
    )
    .option("--api-every <duration>", "API lookup queue drain interval (1 request/s at most)", "1m")
    .option("--api-max-crates <n>", "queued crates looked up per drain at most", "100")
    .option(
      "--no-api",
      "do not drain the crates.io API lookup queue (without CRATES_COOLDOWN_CONTACT it is not drained either)",
    )
    .action(async (flags: WatchFlags, command: Command) => {
      const feedEveryMs = parseDuration(flags.feedEvery, "--feed-every");
      const dumpEveryMs = parseDuration(flags.dumpEvery, "--dump-every");
      const advisories = flags.advisories
        ? { source: flags.advisoriesSource, everyMs: parseDuration(flags.advisoriesEvery, "--advisories-every") }
        : undefined;
      // Last: every other flag is checked before it may warn.
      const api = watchApiDrain(flags, (name) => command.getOptionValueSource(name) === "cli");
      await ingestWatch({
        dbPath: flags.db,
        feedSource: flags.feedSource,
        dumpSource: flags.dumpSource,
        feedEveryMs,
        dumpEveryMs,
        signal: stopSignal(),
        log: (line) => void process.stdout.write(`${line}\n`),
        warn: warnLine,
        dumpProgressEveryMs: 60_000,
        ...(advisories === undefined ? {} : { advisories }),
        ...("off" in api ? { apiOffBecause: api.off } : { api }),
      });
    });
  return ingest;
}

/**
 * What `ingest watch` does with the API lookup queue. Without CRATES_COOLDOWN_CONTACT (crates.io refuses API clients
 * that give no contact) the feed, the dump and the advisories still run — refusing to start would stop them too and
 * let all the data go stale — and one warning says the queue is not drained, why, and how to fix it; unless an `--api…` flag was given:
 * lookups asked for and impossible are a configuration error (exit 2). `--no-api` turns them off without a warning.
 */
function watchApiDrain(flags: WatchFlags, given: (option: string) => boolean): ApiDrain | { off: string } {
  if (flags.api === false) return { off: "--no-api" };
  const everyMs = parseDuration(flags.apiEvery, "--api-every");
  const maxCrates = Number(flags.apiMaxCrates);
  if (!Number.isInteger(maxCrates) || maxCrates < 1)
    throw new UserError(`--api-max-crates: "${flags.apiMaxCrates}" is not a whole number of at least 1`, {
      exitCode: 2,
    });
  const contact = process.env.CRATES_COOLDOWN_CONTACT?.trim() ?? "";
  if (contact === "") {
    const asked = (["api", "apiEvery", "apiMaxCrates"] as const).filter(given).map(flagOf);
    if (asked.length > 0)
      throw new UserError(
        `${asked.join(", ")}: set CRATES_COOLDOWN_CONTACT to a URL or e-mail address, crates.io's API refuses clients without a contact (or pass --no-api)`,
        { exitCode: 2 },
      );
    warnLine(
      "ingest watch: warning: the crates.io API lookup queue is not drained: CRATES_COOLDOWN_CONTACT is not set (crates.io's API refuses clients without a contact), so versions the feed brings have no known publisher (their trust signals unknown: fail closed) until the next dump; set it to a URL or e-mail address, or pass --no-api",
    );
    return { off: "no CRATES_COOLDOWN_CONTACT" };
  }
  return { base: flags.api, userAgent: ingestUserAgent(contact), everyMs, maxCrates };
}

/** `apiMaxCrates` → `--api-max-crates`. */
function flagOf(option: string): string {
  return `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

function warnLine(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * Aborts on the first SIGTERM or SIGINT, so a running command stops cleanly (an interrupted dump changes nothing);
 * a second signal gets Node's default: immediate exit.
 */
function stopSignal(): AbortSignal {
  const controller = new AbortController();
  const stop = () => {
    process.off("SIGTERM", stop);
    process.off("SIGINT", stop);
    process.stderr.write("stopping…\n");
    controller.abort();
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  return controller.signal;
}
