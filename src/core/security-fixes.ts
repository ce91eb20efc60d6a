import { cargoRequirementToRange, compareVersions, meetsCargoRequirement } from "./cargo-semver.ts";
import type { IndexLine } from "./index-file.ts";

/** A RustSec advisory as the timestamp record carries it: its id and the `patched` requirements (Cargo syntax). */
export interface SecurityAdvisory {
  readonly id: string;
  readonly patched: readonly string[];
}

/**
 * The versions security-fix admission lets through early: for every advisory and every `patched` requirement, the
 * lowest version in the file that meets it and is not yanked — exactly that version, not the crate, not later ones.
 * Returns line index → advisory id. Requirements Cargo would not accept are skipped (never widened).
 */
export function admittedFixes(lines: readonly IndexLine[], advisories: readonly SecurityAdvisory[]): Map<number, string> {
  const admitted = new Map<number, string>();
  for (const advisory of advisories) {
    for (const requirement of advisory.patched) {
      const range = cargoRequirementToRange(requirement);
      if (range === null) continue;
      let lowest = -1;
      lines.forEach((line, index) => {
        if (line.version === null || line.yanked || !meetsCargoRequirement(line.version, range)) return;
        if (lowest === -1 || compareVersions(line.version, (lines[lowest] as IndexLine).version as string) < 0) lowest = index;
      });
      if (lowest !== -1 && !admitted.has(lowest)) admitted.set(lowest, advisory.id);
    }
  }
  return admitted;
}
