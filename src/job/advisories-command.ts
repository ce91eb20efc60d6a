import { Command } from "commander";
import {
  type AdvisoryIngestSummary,
  DEFAULT_ADVISORY_SOURCE,
  ingestAdvisories,
} from "../advisories/ingest-advisories.ts";
import { openTimestampDatabaseForWriting } from "../node/open-database.ts";
import { DEFAULT_DB_PATH } from "../store/timestamp-database.ts";

interface AdvisoriesFlags {
  source: string;
  db: string;
}

/** `ingest advisories`: sync the RustSec advisory database, for security-fix admission. */
export function advisoriesCommand(): Command {
  return new Command("advisories")
    .description("sync RustSec's advisory database (a checkout or a .tar.gz, path or URL) for security-fix admission")
    .option(
      "--source <url|path>",
      "rustsec/advisory-db as a folder, a .tar.gz file or an http(s) URL of one",
      DEFAULT_ADVISORY_SOURCE,
    )
    .option("--db <path>", "SQLite timestamp database (created when absent)", DEFAULT_DB_PATH)
    .action(async (flags: AdvisoriesFlags) => {
      const database = openTimestampDatabaseForWriting(flags.db);
      try {
        const summary = await ingestAdvisories(database, flags.source);
        for (const { path, reason } of summary.unreadable)
          process.stderr.write(`warning: advisory ${path} skipped: ${reason}\n`);
        process.stdout.write(`${formatAdvisorySummary(summary)}\n`);
      } finally {
        database.close();
      }
    });
}

export function formatAdvisorySummary(s: AdvisoryIngestSummary): string {
  return `ingest advisories: ${s.total} advisories (${s.added} new, ${s.changed} changed, ${s.removed} removed), ${s.changedCrates} crates to push, ${s.unreadable.length} unreadable`;
}
