import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { TimestampDatabase } from "../store/timestamp-database.ts";
import { UserError } from "./user-error.ts";

/**
 * Opens (creating if needed) the timestamp database for writing; a file that cannot be opened is a `UserError`. A
 * directory created for it is said once on `log` (stderr by default), so a mistyped `--db` does not go unnoticed.
 */
export function openTimestampDatabase(
  path: string,
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): TimestampDatabase {
  try {
    if (path !== ":memory:") {
      const created = mkdirSync(dirname(path), { recursive: true });
      if (created !== undefined) log(`created the database directory ${dirname(path)}`);
    }
    return new TimestampDatabase(path);
  } catch (error) {
    throw new UserError(`cannot open the timestamp database ${path}: ${(error as Error).message}`);
  }
}

/** The job's name for `openTimestampDatabase`: every ingest command writes. */
export const openTimestampDatabaseForWriting = (path: string): TimestampDatabase => openTimestampDatabase(path);
