import {
  type CargoRequirement,
  compareIndexVersions,
  EQ,
  GE,
  GT,
  type IndexVersion,
  LE,
  LT,
  meetsRequirement,
  type ReleaseComparator,
  readIndexVersion,
} from "./cargo-semver.ts";

/**
 * Packed release keys: major · 2^34 + minor · 2^17 + patch, exact below 2^53, and ordered as the releases are. Any
 * number past its bound leaves the release to semver's reading.
 */
const MINOR_SHIFT = 2 ** 17;
const MAJOR_SHIFT = 2 ** 34;
const MAJOR_LIMIT = 2 ** 19;

/** A whole line of the joined versions that is not a short plain release (`X.Y.Z`, up to six digits each). */
const NOT_SHORT_PLAIN = /^(?!(?:0|[1-9]\d{0,5})\.(?:0|[1-9]\d{0,5})\.(?:0|[1-9]\d{0,5})$).*$/gm;

/**
 * The versions of one index file, read once to find, requirement by requirement, the lowest that meets it: what
 * security-fix admission asks of every request for a crate with advisories.
 *
 * Plain releases (nearly every version on crates.io) are read all at once, with native calls over the joined text
 * (one regular expression marks the others, one `JSON.parse` reads every number), packed into one number each, and
 * sorted natively: a requirement's lowest plain release is then a binary search. Everything else (pre-releases,
 * build metadata, numbers past the packing) is read one by one as before. In the Compute engine, which interprets
 * per-version code at ~µs a step, the per-version reading and testing cost ~18 ms for 650 versions and 4 requirements,
 * most of a request's CPU (measured).
 */
export class FileVersions {
  private constructor(
    /** Per line: the packed key of a plain release, or -1 (no version, or read one by one). */
    private readonly keys: readonly number[],
    /** The packed keys, ascending. */
    private readonly sorted: Float64Array,
    /** Lines whose version is read one by one, with that reading. */
    private readonly others: ReadonlyArray<{ readonly index: number; readonly version: IndexVersion }>,
  ) {}

  /** `versions[i]`: line i's version, or `null` for a line that takes no part (yanked, unreadable). */
  static read(versions: readonly (string | null)[]): FileVersions {
    const count = versions.length;
    const texts = new Array<string>(count);
    for (let index = 0; index < count; index++) texts[index] = versions[index] ?? "";
    const joined = texts.join("\n");
    // Three numbers a version, or none read this way (then every version is read one by one). A version holding a line
    // terminator (`\n`, `\r`, U+2028, U+2029) makes more lines than versions, so the count tells.
    let numbers = numbersOf(joined);
    if (numbers !== null && numbers.length !== count * 3) numbers = null;
    const keys = new Array<number>(count);
    const plainKeys: number[] = [];
    const others: { index: number; version: IndexVersion }[] = [];
    for (let index = 0, at = 0; index < count; index++, at += 3) {
      const major = numbers === null ? -1 : (numbers[at] as number);
      const minor = numbers === null ? 0 : (numbers[at + 1] as number);
      const patch = numbers === null ? 0 : (numbers[at + 2] as number);
      if (major >= 0 && major < MAJOR_LIMIT && minor < MINOR_SHIFT && patch < MINOR_SHIFT) {
        const key = major * MAJOR_SHIFT + minor * MINOR_SHIFT + patch;
        keys[index] = key;
        plainKeys.push(key);
        continue;
      }
      keys[index] = -1;
      const text = versions[index];
      const version = text === null || text === undefined ? null : readIndexVersion(text);
      if (version !== null) others.push({ index, version });
    }
    return new FileVersions(keys, Float64Array.from(plainKeys).sort(), others);
  }

  /** The line of the lowest version meeting the requirement (semver order), or -1 when none does. */
  lowestMeeting(requirement: CargoRequirement): number {
    let best = this.lowestPlainMeeting(requirement);
    let bestVersion = best === -1 ? null : this.releaseAt(best);
    for (let i = 0; i < this.others.length; i++) {
      const { index, version } = this.others[i] as { index: number; version: IndexVersion };
      if (!meetsRequirement(version, requirement)) continue;
      const order = bestVersion === null ? -1 : compareIndexVersions(version, bestVersion);
      // Equal in semver order (build metadata differs): the earlier line, as a reading in file order would pick.
      if (order < 0 || (order === 0 && index < best)) {
        best = index;
        bestVersion = version;
      }
    }
    return best;
  }

  /** The line of the lowest plain release (of those packed) meeting the requirement, or -1. */
  private lowestPlainMeeting(requirement: CargoRequirement): number {
    const sets = requirement.sets;
    if (sets === null) return this.lowestPlainByTesting(requirement);
    let lowest = Number.POSITIVE_INFINITY;
    for (let s = 0; s < sets.length; s++) {
      const bounds = boundsOf(sets[s] as readonly ReleaseComparator[]);
      if (bounds === null) return this.lowestPlainByTesting(requirement);
      const [low, high] = bounds;
      const at = firstAtLeast(this.sorted, low);
      const key = this.sorted[at];
      if (key !== undefined && key <= high && key < lowest) lowest = key;
    }
    return lowest === Number.POSITIVE_INFINITY ? -1 : this.keys.indexOf(lowest);
  }

  /** For requirements whose bounds cannot be packed: every packed release tested one by one. */
  private lowestPlainByTesting(requirement: CargoRequirement): number {
    let best = -1;
    for (let index = 0; index < this.keys.length; index++) {
      const key = this.keys[index] as number;
      if (key < 0 || !meetsRequirement(this.releaseAt(index), requirement)) continue;
      if (best === -1 || key < (this.keys[best] as number)) best = index;
    }
    return best;
  }

  private releaseAt(index: number): IndexVersion {
    const key = this.keys[index] as number;
    const major = Math.floor(key / MAJOR_SHIFT);
    const minor = Math.floor((key - major * MAJOR_SHIFT) / MINOR_SHIFT);
    const patch = key - major * MAJOR_SHIFT - minor * MINOR_SHIFT;
    return { text: `${major}.${minor}.${patch}`, major, minor, patch, semver: null };
  }
}

/**
 * Every number of the joined versions, three per line, reading each line that is not a short plain release as
 * `-1.0.0`; `null` when that fails (it cannot on text built as above).
 */
function numbersOf(joined: string): number[] | null {
  const marked = joined.replace(NOT_SHORT_PLAIN, "-1.0.0");
  try {
    return JSON.parse(`[${marked.replaceAll(".", ",").replaceAll("\n", ",")}]`) as number[];
  } catch {
    return null;
  }
}

/**
 * The packed keys a plain release must lie between (both inclusive) to meet every comparator of the set, or `null`
 * when a comparator's release cannot be packed. A pre-release comparator stands just below its release: a plain
 * release is above `X.Y.Z-pre` exactly when it is at least `X.Y.Z`, and never equal to it.
 */
function boundsOf(set: readonly ReleaseComparator[]): [number, number] | null {
  let low = 0;
  let high = Number.MAX_SAFE_INTEGER;
  for (let c = 0; c < set.length; c++) {
    const { operator, major, minor, patch, prerelease } = set[c] as ReleaseComparator;
    if (major >= MAJOR_LIMIT || minor >= MINOR_SHIFT || patch >= MINOR_SHIFT) return null;
    const key = major * MAJOR_SHIFT + minor * MINOR_SHIFT + patch;
    switch (operator) {
      case EQ:
        if (prerelease) return [1, 0];
        low = Math.max(low, key);
        high = Math.min(high, key);
        break;
      case GT:
        low = Math.max(low, prerelease ? key : key + 1);
        break;
      case GE:
        low = Math.max(low, key);
        break;
      case LT:
        high = Math.min(high, key - 1);
        break;
      case LE:
        high = Math.min(high, prerelease ? key - 1 : key);
        break;
    }
  }
  return [low, high];
}

/** The first position in ascending `sorted` holding a key ≥ `low` (its length when none). */
function firstAtLeast(sorted: Float64Array, low: number): number {
  let start = 0;
  let end = sorted.length;
  while (start < end) {
    const middle = (start + end) >>> 1;
    if ((sorted[middle] as number) < low) start = middle + 1;
    else end = middle;
  }
  return start;
}
