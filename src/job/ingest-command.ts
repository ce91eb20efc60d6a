import type { Command } from "commander";
import { DEFAULT_ADVISORY_SOURCE } from "../advisories/ingest-advisories.ts";
import { dumpProgressOn, silentDumpProgress } from "../dump/dump-progress.ts";
import { DEFAULT_DUMP_SOURCE } from "../dump/dump-source.ts";
import { formatDumpSummary, ingestDump } from "../dump/ingest-dump.ts";
import { formatFeedSummary, ingestFeed } from "../feed/ingest-feed.ts";
import { DEFAULT_FEED_SOURCE } from "../feed/updates-feed.ts";
import { DEFAULT_DB_PATH } from "../store/timestamp-database.ts";
import { advisoriesCommand } from "./advisories-command.ts";
import { apiCommand } from "./api-command.ts";
import { DURATION_FORMAT, parseDuration } from "./duration.ts";
import { ingestWatch } from "./ingest-watch.ts";

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
      "keep running: poll the feed and ingest the dump on a schedule, retrying failures with back-off, until SIGTERM/SIGINT",
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
    .action(async (flags: WatchFlags) => {
      await ingestWatch({
        dbPath: flags.db,
        feedSource: flags.feedSource,
        dumpSource: flags.dumpSource,
        feedEveryMs: parseDuration(flags.feedEvery, "--feed-every"),
        dumpEveryMs: parseDuration(flags.dumpEvery, "--dump-every"),
        signal: stopSignal(),
        log: (line) => void process.stdout.write(`${line}\n`),
        warn: warnLine,
        dumpProgressEveryMs: 60_000,
        ...(flags.advisories
          ? {
              advisories: {
                source: flags.advisoriesSource,
                everyMs: parseDuration(flags.advisoriesEvery, "--advisories-every"),
              },
            }
          : {}),
      });
    });
  return ingest;
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
