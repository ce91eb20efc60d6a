import { compare, satisfies, valid, validRange } from "semver";

/**
 * Cargo's version requirements (as RustSec writes them in `patched`/`unaffected`) in terms of the `semver` package,
 * whose syntax differs: a bare `1.2.3` means `^1.2.3` to Cargo but `=1.2.3` to npm, and Cargo separates comparators
 * with commas where npm uses spaces. Both skip pre-releases unless a comparator with the same major.minor.patch has
 * one, and both ignore build metadata.
 */
export function cargoRequirementToRange(requirement: string): string | null {
  const comparators = requirement.split(",").map((part) => part.trim());
  if (comparators.some((part) => part === "")) return null;
  const translated: string[] = [];
  for (const comparator of comparators) {
    const match = /^(\^|~|=|>=|<=|>|<)?\s*(.+)$/.exec(comparator);
    if (match === null) return null;
    const [, operator, version] = match as unknown as [string, string | undefined, string];
    if (!/^(\*|[0-9]+(\.(\*|[0-9]+)(\.(\*|[0-9]+(-[0-9A-Za-z.-]+)?))?)?)$/.test(version.replace(/\+[0-9A-Za-z.-]+$/, ""))) return null;
    // Cargo: no operator is a caret requirement; wildcards (`1.*`, `*`) stand alone.
    translated.push(`${operator ?? (version.includes("*") ? "" : "^")}${version}`);
  }
  const range = translated.join(" ");
  return validRange(range) === null ? null : range;
}

/** Whether `version` meets the Cargo requirement (false for versions that are not semver). */
export function meetsCargoRequirement(version: string, range: string): boolean {
  return valid(version) !== null && satisfies(version, range);
}

/** Semver order of two valid versions (build metadata ignored). */
export function compareVersions(a: string, b: string): number {
  return compare(a, b);
}
