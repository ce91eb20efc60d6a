import { readFileSync } from "node:fs";
import { parse, TomlError } from "smol-toml";
import { type Policy, PolicyError, readPolicy } from "../core/policy-document.ts";
import { UserError } from "./user-error.ts";

/**
 * Reads a policy file (TOML). Anything wrong — unreadable, not TOML, an unknown key, an exception without a reason or
 * expiry, a bad version — is one UserError naming the file and the entry, so the server refuses to start.
 */
export function loadPolicyFile(path: string, exitCode = 1): Policy {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new UserError(
      `cannot read policy file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      { exitCode },
    );
  }
  let document: Record<string, unknown>;
  try {
    document = parse(text) as Record<string, unknown>;
  } catch (error) {
    const where = error instanceof TomlError ? ` at line ${error.line}` : "";
    throw new UserError(`policy file ${path} is not valid TOML${where}`, { exitCode });
  }
  try {
    return readPolicy(document);
  } catch (error) {
    if (error instanceof PolicyError) throw new UserError(`policy file ${path}: ${error.message}`, { exitCode });
    throw error;
  }
}
