import { Command } from "commander";
import { crateNameProblem } from "../core/index-path.ts";
import { lookUpCrateHistory } from "../feed/api-lookup.ts";
import { DEFAULT_API_BASE } from "../feed/crates-io-api.ts";
import { openTimestampDatabaseForWriting } from "../node/open-database.ts";
import { ingestUserAgent } from "../node/user-agent.ts";
import { UserError } from "../node/user-error.ts";
import { DEFAULT_DB_PATH } from "../store/timestamp-database.ts";

interface ApiFlags {
  api: string;
  db: string;
}

/**
 * `ingest api <crate…>`: looks up each crate's history on crates.io's web API and records who published each
 * version (and when), for the trust signals between dumps. One request a second at most; CRATES_COOLDOWN_CONTACT is
 * required, since crates.io refuses API clients that give no contact.
 */
export function apiCommand(): Command {
  return new Command("api")
    .description("look up crates' publishers on crates.io's web API (trust signals between dumps; 1 request/s)")
    .argument("<crates...>", "crate names")
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
      const database = openTimestampDatabaseForWriting(flags.db);
      try {
        for (const crate of crates) {
          const summary = await lookUpCrateHistory({
            database,
            crate: crate.toLowerCase(),
            apiBase: flags.api,
            userAgent: ingestUserAgent(contact),
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
