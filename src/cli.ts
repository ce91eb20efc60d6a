import { Command } from "commander";
import { checkCommand } from "./inspect/check-command.ts";
import { explainCommand } from "./inspect/explain-command.ts";
import { registerIngestCommands } from "./job/ingest-command.ts";
import { registerKvCommands } from "./kv/kv-command.ts";
import { UserError } from "./node/user-error.ts";
import { PACKAGE_VERSION } from "./package-version.ts";
import { serveCommand } from "./server/serve-command.ts";

const program = new Command("crates-cooldown")
  .description("A Cargo sparse-index proxy that hides crate versions younger than a chosen window")
  .version(PACKAGE_VERSION)
  .addCommand(serveCommand())
  .addCommand(explainCommand())
  .addCommand(checkCommand());
registerIngestCommands(program);
registerKvCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (!(error instanceof UserError)) throw error;
  process.stderr.write(`error: ${error.message}\n`);
  process.exitCode = error.exitCode;
}
