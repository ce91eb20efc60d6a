import { Command } from "commander";
import { crateNameProblem } from "../core/index-path.ts";
import { lookUpCrateHistory } from "../feed/api-lookup.ts";
import { formatApiQueueSummary, runApiQueue } from "../feed/api-queue-run.ts";
import { DEFAULT_API_BASE } from "../feed/crates-io-api.ts";
import { openTimestampDatabaseForWriting } from "../node/open-database.ts";
import { ingestUserAgent } from "../node/user-agent.ts";
import { UserError } from "../node/user-error.ts";
import { DEFAULT_DB_PATH } from "../store/timestamp-database.ts";

interface ApiFlags {
  api: string;
  db: string;
  maxCrates: string;
}

/**
 * `ingest api [crate…]`: without crates, drains the queue `ingest feed` fills; with crates, looks up each one's history on crates.io's web API and records who published each
 * version (and when), for the trust signals between dumps. One request a second at most; CRATES_COOLDOWN_CONTACT is
 * required, since crates.io refuses API clients that give no contact.
 */
export function apiCommand(): Command {
  return new Command("api")
    .description("look up crates' publishers on crates.io's web API (trust signals between dumps; 1 request/s)")
    .argument("[crates...]", "crate names (default: the queued lookups)")
    .option("--max-crates <n>", "queued crates to look up in this run at most", "100")
    .option("--api <url>", "crates.io's web API", DEFAULT_API_BASE)
    .option("--db <path>", "SQLite timestamp database (created when absent)", DEFAULT_DB_PATH)
    .action(async (crates: string[], flags: ApiFlags) => {
      const contact = process.env.CRATES_COOLDOWN_CONTACT?.trim() ?? "";
      if (contact === "")
        throw new UserError(
          "set CRATES_COOLDOWN_CONTACT to a URL or e-mail address: crates.io's API refuses clients without a contact",
        );
      for (const crate of crates) {
        const problem = crateNameProblem(crate.toLowerCase());
        if (problem !== null) throw new UserError(problem);
      }
      const maxCrates = Number(flags.maxCrates);
      if (!Number.isInteger(maxCrates) || maxCrates < 1)
        throw new UserError(`--max-crates: "${flags.maxCrates}" is not a whole number of at least 1`, { exitCode: 2 });
      const database = openTimestampDatabaseForWriting(flags.db);
      try {
        if (crates.length === 0) {
          const summary = await runApiQueue({
            database,
            apiBase: flags.api,
            userAgent: ingestUserAgent(contact),
            maxCrates,
            warn: (line) => process.stderr.write(`${line}\n`),
          });
          process.stdout.write(`${formatApiQueueSummary(summary)}\n`);
          return;
        }
        // One pace across the crates: their requests stay a second apart too.
        const pacer = { lastRequestAt: Number.NEGATIVE_INFINITY };
        for (const crate of crates) {
          const summary = await lookUpCrateHistory({
            database,
            crate: crate.toLowerCase(),
            apiBase: flags.api,
            userAgent: ingestUserAgent(contact),
            pacer,
          });
          process.stdout.write(
            `ingest api: ${summary.crate}: ${summary.versions} versions in ${summary.requests} requests; ${summary.publishersLearned} publishers learned\n`,
          );
        }
      } finally {
        database.close();
      }
    });
}
