import { Command, Option } from "commander";
import { explainIndexFile, formatExplanationText } from "../core/explain.ts";
import { crateNameProblem, indexPathFor } from "../core/index-path.ts";
import { PROJECT_USER_AGENT } from "../node/user-agent.ts";
import { UserError } from "../node/user-error.ts";
import { addDecisionOptions, type DecisionFlags, openLocalDecider } from "./local-decider.ts";

interface ExplainFlags extends DecisionFlags {
  format: "text" | "json";
}

/** `crates-cooldown explain <crate>`: every version, its publish time and source, and the verdict for the window. */
export function explainCommand(): Command {
  return addDecisionOptions(
    new Command("explain")
      .description(
        "show every version of a crate with its publish time, where that time came from, and the window's verdict",
      )
      .argument("<crate>", "crate name (any case)"),
  )
    .addOption(new Option("--format <format>", "output format").choices(["text", "json"]).default("text"))
    .action(async (crate: string, flags: ExplainFlags) => {
      const name = crate.toLowerCase();
      const problem = crateNameProblem(name);
      if (problem !== null) throw new UserError(problem);
      const local = openLocalDecider(flags);
      try {
        const decided = await local.decide(name, indexPathFor(name), local.window, PROJECT_USER_AGENT);
        if (!decided.ok) throw new UserError((await decided.response.text()).trim());
        const explanation = explainIndexFile(name, local.window, decided.now, decided.file, decided.filtered);
        process.stdout.write(
          flags.format === "json" ? `${JSON.stringify(explanation, null, 2)}\n` : formatExplanationText(explanation),
        );
        // Said on stderr, so the explanation itself stays what the proxy's /-/explain answers.
        if (!local.trustSignals)
          process.stderr.write("note: no trust signals were checked: the upstream is not crates.io\n");
      } finally {
        await local.close();
      }
    });
}
