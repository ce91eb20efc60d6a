import { Comparator, compare, parse, Range, type SemVer, validRange } from "semver";

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
    if (
      !/^(\*|[0-9]+(\.(\*|[0-9]+)(\.(\*|[0-9]+(-[0-9A-Za-z.-]+)?))?)?)$/.test(version.replace(/\+[0-9A-Za-z.-]+$/, ""))
    )
      return null;
    // Cargo: no operator is a caret requirement; wildcards (`1.*`, `*`) stand alone.
    translated.push(`${operator ?? (version.includes("*") ? "" : "^")}${version}`);
  }
  const range = translated.join(" ");
  return validRange(range) === null ? null : range;
}

/**
 * A version as an index line spells it, read once for many requirement tests. A plain release (`X.Y.Z`, maybe with
 * build metadata) is kept as three numbers; anything else semver accepts (a pre-release) as semver's own object.
 */
export type IndexVersion =
  | {
      readonly text: string;
      readonly major: number;
      readonly minor: number;
      readonly patch: number;
      readonly semver: null;
    }
  | { readonly text: string; readonly major: 0; readonly minor: 0; readonly patch: 0; readonly semver: SemVer };

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
      const major = Number(plain[1]);
      const minor = Number(plain[2]);
      const patch = Number(plain[3]);
      if (major <= Number.MAX_SAFE_INTEGER && minor <= Number.MAX_SAFE_INTEGER && patch <= Number.MAX_SAFE_INTEGER) {
        return { text, major, minor, patch, semver: null };
      }
    }
  }
  const semver = parse(text);
  return semver === null ? null : { text, major: 0, minor: 0, patch: 0, semver };
}

const ANY = (Comparator as unknown as { readonly ANY: symbol }).ANY;

/** Comparator operators as numbers, so that testing one is arithmetic. */
export const EQ = 0;
export const LT = 1;
export const LE = 2;
export const GT = 3;
export const GE = 4;
const OPERATORS: Readonly<Record<string, number>> = { "": EQ, "=": EQ, "<": LT, "<=": LE, ">": GT, ">=": GE };

/**
 * One comparator of a requirement, for plain releases: its operator and the version it compares against; a
 * pre-release comparator version orders just before its release.
 */
export interface ReleaseComparator {
  readonly operator: number;
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  readonly prerelease: boolean;
}

/** A Cargo requirement ready to test many versions: semver's range, and its comparator sets in numbers when it can. */
export interface CargoRequirement {
  /** semver's own range, for pre-release versions and comparators that are not plain (made at first use). */
  readonly range: () => Range;
  /** Alternatives (any may hold) of comparators (all must hold); `null` when some comparator is not a plain one. */
  readonly sets: ReadonlyArray<readonly ReleaseComparator[]> | null;
}

/**
 * Compiles a Cargo requirement once (see `cargoRequirementToRange`), or `null` when Cargo would not accept it. The
 * common forms (an operator and up to three plain numbers per comparator) are read without semver, whose range
 * parsing runs a dozen regular expressions per comparator: ~1.5 ms a requirement in the Compute engine, which
 * interprets them (measured), on every request for a crate with advisories. semver stays the reference: a property
 * test holds the two readings equal.
 */
export function compileCargoRequirement(requirement: string): CargoRequirement | null {
  const plain = plainComparators(requirement);
  if (plain !== null) {
    let range: Range | undefined;
    return { range: () => (range ??= new Range(cargoRequirementToRange(requirement) as string)), sets: [plain] };
  }
  const translated = cargoRequirementToRange(requirement);
  if (translated === null) return null;
  const range = new Range(translated);
  const sets: ReleaseComparator[][] = [];
  for (const set of range.set) {
    const comparators: ReleaseComparator[] = [];
    for (const comparator of set) {
      // semver's "any version" comparator (`*`) holds for every release (its .d.ts leaves ANY out).
      if ((comparator.semver as unknown) === ANY) continue;
      const operator = OPERATORS[comparator.operator];
      if (operator === undefined) return { range: () => range, sets: null };
      const { major, minor, patch, prerelease } = comparator.semver;
      comparators.push({ operator, major, minor, patch, prerelease: prerelease.length > 0 });
    }
    sets.push(comparators);
  }
  return { range: () => range, sets };
}

/** A comparator against a plain release. */
function at(major: number, minor: number, patch: number, operator: number): ReleaseComparator {
  return { operator, major, minor, patch, prerelease: false };
}

/** One comparator of the common form: an optional operator, then one to three numbers without leading zeros. */
const PLAIN_COMPARATOR = /^(\^|~|=|>=|<=|>|<)?\s*(0|[1-9]\d{0,14})(?:\.(0|[1-9]\d{0,14})(?:\.(0|[1-9]\d{0,14}))?)?$/;

/**
 * The comparators of a requirement made only of common-form comparators, desugared as semver desugars Cargo's
 * (after `cargoRequirementToRange`): a bare version is a caret, a partial version an X-range (`>1.2` is `>=1.3.0`,
 * `<=1.2` is `<1.3.0`), `~` and `^` their usual bounds. Upper bounds semver writes as `-0` pre-releases (`<2.0.0-0`)
 * are plain bounds here: for a plain release the two are the same. `null` for anything else (semver reads it).
 */
function plainComparators(requirement: string): ReleaseComparator[] | null {
  const comparators: ReleaseComparator[] = [];
  const parts = requirement.split(",");
  for (let index = 0; index < parts.length; index++) {
    const match = PLAIN_COMPARATOR.exec((parts[index] as string).trim());
    if (match === null) return null;
    const operator = match[1] ?? "^";
    const major = Number(match[2]);
    const minor = match[3] === undefined ? null : Number(match[3]);
    const patch = match[4] === undefined ? null : Number(match[4]);
    // The first release past the partial version's last given number (1.2 → 1.3.0, 1 → 2.0.0).
    const past = () => (minor === null ? at(major + 1, 0, 0, LT) : at(major, minor + 1, 0, LT));
    const low = at(major, minor ?? 0, patch ?? 0, GE);
    switch (operator) {
      case "=":
        if (minor !== null && patch !== null) comparators.push(at(major, minor, patch, EQ));
        else comparators.push(low, past());
        break;
      case ">":
        if (minor !== null && patch !== null) comparators.push(at(major, minor, patch, GT));
        else comparators.push({ ...past(), operator: GE });
        break;
      case ">=":
        comparators.push(low);
        break;
      case "<":
        comparators.push(at(major, minor ?? 0, patch ?? 0, LT));
        break;
      case "<=":
        if (minor !== null && patch !== null) comparators.push(at(major, minor, patch, LE));
        else comparators.push(past());
        break;
      case "~":
        comparators.push(low, past());
        break;
      default: {
        // Caret: the left-most non-zero number given may not change; with none, the last number given.
        const upper =
          major > 0 || minor === null
            ? at(major + 1, 0, 0, LT)
            : minor > 0 || patch === null
              ? at(0, minor + 1, 0, LT)
              : at(0, 0, patch + 1, LT);
        comparators.push(low, upper);
      }
    }
  }
  return comparators;
}

/**
 * Whether the version meets the requirement, exactly as `semver.satisfies` says. A plain release is compared in
 * numbers against the comparators semver parsed: it is never itself a pre-release, so semver's pre-release rule does
 * not apply, and against a pre-release comparator with the same X.Y.Z it orders after it. Pre-releases go to semver.
 * Written as plain indexed loops with no calls: at the edge this runs for every version of a crate with advisories.
 */
export function meetsRequirement(version: IndexVersion, requirement: CargoRequirement): boolean {
  const sets = requirement.sets;
  if (version.semver !== null || sets === null) return requirement.range().test(version.semver ?? version.text);
  for (let s = 0; s < sets.length; s++) {
    const set = sets[s] as readonly ReleaseComparator[];
    let holds = true;
    for (let c = 0; c < set.length && holds; c++) {
      const comparator = set[c] as ReleaseComparator;
      const order =
        version.major !== comparator.major
          ? version.major < comparator.major
            ? -1
            : 1
          : version.minor !== comparator.minor
            ? version.minor < comparator.minor
              ? -1
              : 1
            : version.patch !== comparator.patch
              ? version.patch < comparator.patch
                ? -1
                : 1
              : comparator.prerelease
                ? 1
                : 0;
      const operator = comparator.operator;
      holds =
        operator === EQ
          ? order === 0
          : operator === LT
            ? order < 0
            : operator === LE
              ? order <= 0
              : operator === GT
                ? order > 0
                : order >= 0;
    }
    if (holds) return true;
  }
  return false;
}

/** Semver order of two read versions (build metadata ignored), as `semver.compare` gives it. */
export function compareIndexVersions(a: IndexVersion, b: IndexVersion): number {
  if (a.semver === null && b.semver === null) {
    if (a.major !== b.major) return a.major < b.major ? -1 : 1;
    if (a.minor !== b.minor) return a.minor < b.minor ? -1 : 1;
    return a.patch === b.patch ? 0 : a.patch < b.patch ? -1 : 1;
  }
  return compare(a.semver ?? a.text, b.semver ?? b.text);
}
