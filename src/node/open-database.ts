import { TimestampDatabase } from "../store/timestamp-database.ts";
import { UserError } from "./user-error.ts";

/** Opens (creating if needed) the timestamp database for writing; a file that cannot be opened is a `UserError`. */
export function openTimestampDatabaseForWriting(path: string): TimestampDatabase {
  try {
    return new TimestampDatabase(path);
  } catch (error) {
    throw new UserError(`cannot open the timestamp database ${path}: ${(error as Error).message}`);
  }
}
