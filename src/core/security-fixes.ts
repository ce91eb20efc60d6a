import { compileCargoRequirement } from "./cargo-semver.ts";
import { FileVersions } from "./file-versions.ts";
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
export function admittedFixes(
  lines: readonly IndexLine[],
  advisories: readonly SecurityAdvisory[],
): Map<number, string> {
  const admitted = new Map<number, string>();
  if (advisories.length === 0) return admitted;
  // Each version is read once per file and each requirement compiled once (file-versions.ts says why and how).
  const versions = new Array<string | null>(lines.length);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] as IndexLine;
    versions[index] = line.yanked ? null : line.version;
  }
  const read = FileVersions.read(versions);
  for (const advisory of advisories) {
    for (const patched of advisory.patched) {
      const requirement = compileCargoRequirement(patched);
      if (requirement === null) continue;
      const lowest = read.lowestMeeting(requirement);
      if (lowest !== -1 && !admitted.has(lowest)) admitted.set(lowest, advisory.id);
    }
  }
  return admitted;
}
