import { Comparator, compare, parse, Range, satisfies, valid, validRange, type SemVer } from "semver";

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

/**
 * A version as an index line spells it, read once for many requirement tests. A plain release (`X.Y.Z`, maybe with
 * build metadata) is kept as three numbers; anything else semver accepts (a pre-release) as semver's own object.
 */
export type IndexVersion =
  | { readonly text: string; readonly release: readonly [number, number, number]; readonly semver?: undefined }
  | { readonly text: string; readonly release?: undefined; readonly semver: SemVer };

/** What semver accepts as a plain release: no leading zeros, optional build metadata (ignored for order). */
const PLAIN_RELEASE = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;
/** semver refuses longer version strings. */
const SEMVER_MAX_LENGTH = 256;

/**
 * Reads a line's version for `meetsRequirement`/`compareIndexVersions`, or `null` when it is not semver (such a line
 * meets no requirement). Plain releases are read without semver, because semver's parse runs regexes that cost
 * ~14 µs a version in the Compute engine, which interprets them (measured).
 */
export function readIndexVersion(text: string): IndexVersion | null {
  if (text.length <= SEMVER_MAX_LENGTH) {
    const plain = PLAIN_RELEASE.exec(text);
    if (plain !== null) {
      const release = [Number(plain[1]), Number(plain[2]), Number(plain[3])] as const;
      if (release.every(Number.isSafeInteger)) return { text, release };
    }
  }
  const semver = parse(text);
  return semver === null ? null : { text, semver };
}

const ANY = (Comparator as unknown as { readonly ANY: symbol }).ANY;

/** One comparator of a requirement, for plain releases: its operator and the version it compares against. */
interface ReleaseComparator {
  readonly operator: "" | "=" | "<" | "<=" | ">" | ">=";
  readonly release: readonly [number, number, number];
  /** Whether the comparator's version is a pre-release (which orders just before its release). */
  readonly prerelease: boolean;
}

/** A Cargo requirement ready to test many versions: semver's range, and its comparator sets in numbers when it can. */
export interface CargoRequirement {
  readonly range: Range;
  /** Alternatives (any may hold) of comparators (all must hold); `null` when some comparator is not a plain one. */
  readonly sets: ReadonlyArray<readonly ReleaseComparator[]> | null;
}

/** Compiles a Cargo requirement once (see `cargoRequirementToRange`), or `null` when Cargo would not accept it. */
export function compileCargoRequirement(requirement: string): CargoRequirement | null {
  const translated = cargoRequirementToRange(requirement);
  if (translated === null) return null;
  const range = new Range(translated);
  const sets: ReleaseComparator[][] = [];
  for (const set of range.set) {
    const comparators: ReleaseComparator[] = [];
    for (const comparator of set) {
      const operator = comparator.operator;
      // semver's "any version" comparator (`*`) holds for every release (its .d.ts leaves ANY out).
      if ((comparator.semver as unknown) === ANY) continue;
      if (operator !== "" && operator !== "=" && operator !== "<" && operator !== "<=" && operator !== ">" && operator !== ">=") {
        return { range, sets: null };
      }
      const { major, minor, patch, prerelease } = comparator.semver;
      comparators.push({ operator, release: [major, minor, patch], prerelease: prerelease.length > 0 });
    }
    sets.push(comparators);
  }
  return { range, sets };
}

/**
 * Whether the version meets the requirement, exactly as `semver.satisfies` says. A plain release is compared in
 * numbers against the comparators semver parsed: it is never itself a pre-release, so semver's pre-release rule does
 * not apply, and against a pre-release comparator with the same X.Y.Z it orders after it. Pre-releases go to semver.
 */
export function meetsRequirement(version: IndexVersion, requirement: CargoRequirement): boolean {
  if (version.release === undefined || requirement.sets === null) return requirement.range.test(version.semver ?? version.text);
  const release = version.release;
  for (const set of requirement.sets) {
    let holds = true;
    for (const comparator of set) {
      if (!releaseHolds(release, comparator)) {
        holds = false;
        break;
      }
    }
    if (holds) return true;
  }
  return false;
}

function releaseHolds(release: readonly [number, number, number], comparator: ReleaseComparator): boolean {
  let order = compareReleases(release, comparator.release);
  if (order === 0 && comparator.prerelease) order = 1;
  switch (comparator.operator) {
    case "":
    case "=":
      return order === 0;
    case "<":
      return order < 0;
    case "<=":
      return order <= 0;
    case ">":
      return order > 0;
    case ">=":
      return order >= 0;
  }
}

function compareReleases(a: readonly [number, number, number], b: readonly [number, number, number]): number {
  return a[0] !== b[0] ? Math.sign(a[0] - b[0]) : a[1] !== b[1] ? Math.sign(a[1] - b[1]) : Math.sign(a[2] - b[2]);
}

/** Semver order of two read versions (build metadata ignored), as `semver.compare` gives it. */
export function compareIndexVersions(a: IndexVersion, b: IndexVersion): number {
  if (a.release !== undefined && b.release !== undefined) return compareReleases(a.release, b.release);
  return compare(a.semver ?? a.text, b.semver ?? b.text);
}
