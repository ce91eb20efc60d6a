import fc from "fast-check";
import { compare, satisfies, valid } from "semver";
import { describe, expect, it } from "vitest";
import { cargoRequirementToRange, compileCargoRequirement } from "../../src/core/cargo-semver.ts";
import { FileVersions } from "../../src/core/file-versions.ts";

/**
 * The reference: every version tested with semver itself, the lowest in semver order kept, the earlier line on ties.
 * What security-fix admission meant before versions were read in bulk.
 */
function lowestBySemver(versions: readonly (string | null)[], requirement: string): number {
  const range = cargoRequirementToRange(requirement);
  if (range === null) return -1;
  let best = -1;
  versions.forEach((version, index) => {
    if (version === null || valid(version) === null || !satisfies(version, range)) return;
    if (best === -1 || compare(version, versions[best] as string) < 0) best = index;
  });
  return best;
}

function lowest(versions: readonly (string | null)[], requirement: string): number {
  const compiled = compileCargoRequirement(requirement);
  return compiled === null ? -1 : FileVersions.read(versions).lowestMeeting(compiled);
}

describe("FileVersions.lowestMeeting", () => {
  it("finds the lowest plain release in a range, whatever the file order", () => {
    const versions = ["0.24.0", "0.23.19", "0.23.18", "0.23.17", "1.0.0"];
    expect(lowest(versions, ">= 0.23.18")).toBe(2);
    expect(lowest(versions, ">= 0.23.18, < 0.24")).toBe(2);
    expect(lowest(versions, "^0.24")).toBe(0);
    expect(lowest(versions, ">= 2.0.0")).toBe(-1);
  });

  it("leaves out lines without a version (yanked, unreadable)", () => {
    expect(lowest(["1.0.0", null, "1.0.2"], ">= 1.0.1")).toBe(2);
    expect(lowest([null, null], "*")).toBe(-1);
  });

  it("weighs pre-releases, build metadata and numbers past the packing against the plain releases", () => {
    // A pre-release meets only a requirement naming a pre-release of the same release.
    expect(lowest(["1.0.0", "1.0.0-rc.1"], ">= 1.0.0-beta")).toBe(1);
    expect(lowest(["1.0.0", "1.1.0-rc.1"], ">= 1.0.0-beta")).toBe(0);
    // Build metadata does not change order: the earlier line wins the tie.
    expect(lowest(["1.0.0+b", "1.0.0"], ">= 1.0.0")).toBe(0);
    expect(lowest(["1.0.0", "1.0.0+b"], ">= 1.0.0")).toBe(0);
    // Dates as patch numbers, majors past the packing.
    expect(lowest(["0.0.20200102", "0.0.20200101", "0.0.3"], ">= 0.0.4")).toBe(1);
    expect(lowest(["600000.0.0", "524288.0.1", "2.0.0"], ">= 524288")).toBe(1);
    expect(lowest(["600000.0.0", "2.0.0"], "< 1000000")).toBe(1);
  });

  it("is not misled by versions holding line terminators or JSON", () => {
    expect(lowest(["1.0.0\n0.0.1", "1.0.1", "1.0.2"], ">= 1.0.1")).toBe(1);
    expect(lowest(["1.0.0\u20280.0.1", "1.0.2", "1.0.1"], ">= 1.0.1")).toBe(2);
    expect(lowest(['1],"x":[0', "1.0.1"], ">= 0.0.0")).toBe(1);
    // semver trims what it reads, so a trailing `\r` is 1.0.0 to it: the bulk reading must not differ.
    for (const versions of [
      ["1.0.0\r", "1.0.1"],
      ["1.0.1", "\r1.0.0"],
      ["1.0.1", "1.0.0\u2029"],
    ]) {
      expect(lowest(versions, ">= 1.0.0"), JSON.stringify(versions)).toBe(lowestBySemver(versions, ">= 1.0.0"));
    }
  });

  // Few distinct numbers, so that versions share majors, minors and whole releases with the comparators.
  const number = fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom("0", "1", "2", "3") },
    { weight: 1, arbitrary: fc.constantFrom("10", "01", "131071", "131072", "524288", "20200101", "9007199254740993") },
  );
  const prerelease = fc.constantFrom("", "", "", "", "-alpha", "-rc.2", "-0");
  const build = fc.constantFrom("", "", "", "", "+build.5", "+a-b");
  const version = fc.oneof(
    {
      weight: 20,
      arbitrary: fc
        .tuple(number, number, number, prerelease, build)
        .map(([a, b, c, pre, meta]) => `${a}.${b}.${c}${pre}${meta}`),
    },
    { weight: 1, arbitrary: fc.constantFrom("1.0", "v1.0.0", "", "1.0.0\n2.0.0", "1.0.0\r", "1.0.0\u2029", "[1]") },
    { weight: 2, arbitrary: fc.constant(null) },
  );
  const operator = fc.constantFrom("", "^", "~", "=", ">=", "<=", ">", "<");
  const partial = fc.oneof(
    fc.tuple(number, number, number, prerelease).map(([a, b, c, pre]) => `${a}.${b}.${c}${pre}`),
    fc.tuple(number, number).map(([a, b]) => `${a}.${b}`),
    number,
    fc.constantFrom("1.*", "*"),
  );
  const comparator = fc
    .tuple(operator, fc.constantFrom("", " "), partial)
    .map(([op, space, v]) => `${op}${op === "" ? "" : space}${v}`);
  const requirement = fc.array(comparator, { minLength: 1, maxLength: 2 }).map((parts) => parts.join(", "));

  it("finds exactly the line semver finds, for any file and requirement", () => {
    fc.assert(
      fc.property(
        fc.array(version, { maxLength: 40 }),
        fc.array(requirement, { minLength: 1, maxLength: 3 }),
        (versions, requirements) => {
          for (const cargo of requirements) {
            expect(lowest(versions, cargo), `${cargo} in ${JSON.stringify(versions)}`).toBe(
              lowestBySemver(versions, cargo),
            );
          }
        },
      ),
      { numRuns: 5_000 },
    );
  });
});
