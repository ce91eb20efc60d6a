import {
  compareIndexVersions,
  compileCargoRequirement,
  type IndexVersion,
  meetsRequirement,
  readIndexVersion,
} from "./cargo-semver.ts";
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
  // Each version is read once per file and each requirement compiled once, then tested in numbers: this runs on every
  // request for a crate with advisories, and at the edge semver's parse-per-test cost 80 µs a line per requirement
  // (a 650-version crate with four requirements took 150 ms, three times Fastly's CPU limit; measured in the engine).
  const versions = lines.map((line): IndexVersion | null =>
    line.version === null || line.yanked ? null : readIndexVersion(line.version),
  );
  for (const advisory of advisories) {
    for (const patched of advisory.patched) {
      const requirement = compileCargoRequirement(patched);
      if (requirement === null) continue;
      let lowest = -1;
      for (let index = 0; index < versions.length; index++) {
        const version = versions[index];
        if (version === null || version === undefined || !meetsRequirement(version, requirement)) continue;
        if (lowest === -1 || compareIndexVersions(version, versions[lowest] as IndexVersion) < 0) lowest = index;
      }
      if (lowest !== -1 && !admitted.has(lowest)) admitted.set(lowest, advisory.id);
    }
  }
  return admitted;
}
