import { appendFile, readFile } from "node:fs/promises";
import { Command, Option } from "commander";
import { PROJECT_USER_AGENT } from "../node/user-agent.ts";
import { UserError } from "../node/user-error.ts";
import { addDecisionOptions, type DecisionFlags, openLocalDecider } from "./local-decider.ts";
import { type Lockfile, LockfileError, parseLockfile } from "./lockfile.ts";
import { checkLockfile, formatCheckMarkdown, formatCheckText } from "./lockfile-check.ts";

interface CheckFlags extends DecisionFlags {
  format: "text" | "json";
  concurrency: string;
  markdown?: string;
}

/** Exit codes: 0 every pin visible, 1 some pin would not resolve (or could not be checked), 2 bad input. */
const BAD_INPUT = 2;

/** `crates-cooldown check [Cargo.lock]`: would the window let cargo resolve every pinned crates.io version? */
export function checkCommand(): Command {
  return (
    addDecisionOptions(
      new Command("check")
        .description(
          "check every crates.io version pinned in a lockfile against the window (exit 0 ok, 1 problems, 2 bad input)",
        )
        .argument("[lockfile]", "path to Cargo.lock", "Cargo.lock"),
    )
      .addOption(new Option("--format <format>", "output format").choices(["text", "json"]).default("text"))
      .option("--concurrency <n>", "index files fetched at once", "16")
      .option(
        "--markdown <path>",
        "also append the report as a Markdown table to this file (e.g. $GITHUB_STEP_SUMMARY)",
      )
      // Commander's own refusals (an unknown option, a format not among the choices, a missing value) are bad input too.
      .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : BAD_INPUT))
      .action(async (path: string, flags: CheckFlags) => {
        const concurrency = Number(flags.concurrency);
        if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) {
          throw new UserError(`--concurrency "${flags.concurrency}" is not a whole number from 1 to 256`, {
            exitCode: BAD_INPUT,
          });
        }
        let text: string;
        try {
          text = await readFile(path, "utf8");
        } catch (error) {
          throw new UserError(
            `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
            { exitCode: BAD_INPUT },
          );
        }
        let lockfile: Lockfile;
        try {
          lockfile = parseLockfile(text);
        } catch (error) {
          if (error instanceof LockfileError) throw new UserError(`${path}: ${error.message}`, { exitCode: BAD_INPUT });
          throw error;
        }
        const local = openLocalDecider(flags, BAD_INPUT);
        try {
          const report = await checkLockfile(lockfile, local.decide, local.window, {
            concurrency,
            userAgent: PROJECT_USER_AGENT,
          });
          process.stdout.write(
            flags.format === "json" ? `${JSON.stringify(report, null, 2)}\n` : formatCheckText(report),
          );
          if (flags.markdown !== undefined) {
            try {
              await appendFile(flags.markdown, formatCheckMarkdown(report));
            } catch (error) {
              throw new UserError(
                `cannot write ${flags.markdown}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
                { exitCode: BAD_INPUT },
              );
            }
          }
          process.exitCode = report.problems > 0 ? 1 : 0;
        } finally {
          await local.close();
        }
      })
  );
}
