import fc from "fast-check";
import { compare, satisfies, valid } from "semver";
import { describe, expect, it } from "vitest";
import {
  cargoRequirementToRange,
  compareIndexVersions,
  compileCargoRequirement,
  meetsRequirement,
  readIndexVersion,
} from "../../src/core/cargo-semver.ts";

const meets = (version: string, requirement: string) => {
  const compiled = compileCargoRequirement(requirement);
  if (compiled === null) throw new Error(`not a requirement: ${requirement}`);
  const read = readIndexVersion(version);
  return read !== null && meetsRequirement(read, compiled);
};

describe("Cargo requirements in terms of the semver package", () => {
  it("reads a bare version as a caret requirement, as Cargo does (npm would read it as exact)", () => {
    expect(meets("1.2.3", "1.2.3")).toBe(true);
    expect(meets("1.9.0", "1.2.3")).toBe(true);
    expect(meets("2.0.0", "1.2.3")).toBe(false);
    expect(meets("0.2.9", "0.2.3")).toBe(true);
    expect(meets("0.3.0", "0.2.3")).toBe(false);
    expect(meets("0.0.4", "0.0.3")).toBe(false);
  });

  it("reads RustSec's spaced operators and comma-separated comparators", () => {
    expect(meets("0.23.18", ">= 0.23.18")).toBe(true);
    expect(meets("0.23.17", ">= 0.23.18")).toBe(false);
    expect(meets("0.22.5", ">= 0.22.5, < 0.23.0")).toBe(true);
    expect(meets("0.23.0", ">= 0.22.5, < 0.23.0")).toBe(false);
    expect(meets("1.4.2", "^1.4.2")).toBe(true);
    expect(meets("1.5.0", "~1.4.2")).toBe(false);
    expect(meets("1.4.9", "~1.4.2")).toBe(true);
    expect(meets("1.4.2", "=1.4.2")).toBe(true);
    expect(meets("1.4.3", "=1.4.2")).toBe(false);
  });

  it("reads partial versions and wildcards like Cargo", () => {
    expect(meets("1.3.0", ">1.2")).toBe(true);
    expect(meets("1.2.9", ">1.2")).toBe(false);
    expect(meets("1.2.5", "=1.2")).toBe(true);
    expect(meets("1.7.0", "1.*")).toBe(true);
    expect(meets("2.0.0", "1.*")).toBe(false);
    expect(meets("9.0.0", "*")).toBe(true);
  });

  it("matches pre-releases only against a comparator with the same major.minor.patch and a pre-release", () => {
    expect(meets("1.0.0-beta.2", ">= 1.0.0-beta.1")).toBe(true);
    expect(meets("1.1.0-beta.1", ">= 1.0.0-beta.1")).toBe(false);
    expect(meets("1.1.0-beta.1", ">= 1.0.0")).toBe(false);
  });

  it("ignores build metadata", () => {
    expect(meets("1.2.3+build.5", ">= 1.2.3")).toBe(true);
  });

  it("refuses what Cargo would not accept, instead of guessing", () => {
    for (const bad of ["", ">= ", "1.2.3 - 2.0.0", "1.2.3 || 2.0.0", ">=1.2.3,", "latest", "v1.2.3"]) {
      expect(cargoRequirementToRange(bad), bad).toBeNull();
    }
  });

  it("never matches a version that is not semver", () => {
    expect(readIndexVersion("not-a-version")).toBeNull();
    expect(meets("not-a-version", ">= 0.0.0")).toBe(false);
  });
});

// The compiled form tests plain releases in numbers; semver itself is the reference it must equal.
describe("compiled Cargo requirements agree with semver", () => {
  // Few distinct numbers, so that versions and comparators often share a major, minor or whole release.
  const number = fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom("0", "1", "2") },
    { weight: 1, arbitrary: fc.constantFrom("10", "99", "01", "00", "9007199254740993") },
  );
  const prerelease = fc.constantFrom("", "", "", "-alpha", "-alpha.1", "-0", "-rc.2", "-beta.10", "-1.2", "-x-y");
  const build = fc.constantFrom("", "", "", "+build.5", "+20200101", "+a-b");
  const version = fc.oneof(
    {
      weight: 10,
      arbitrary: fc
        .tuple(number, number, number, prerelease, build)
        .map(([a, b, c, pre, meta]) => `${a}.${b}.${c}${pre}${meta}`),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "1.0",
        "v1.0.0",
        "1.0.0.0",
        "",
        " 1.0.0",
        "1.0.0 ",
        "1..0",
        "x".repeat(300),
        `1.0.0-${"a".repeat(260)}`,
      ),
    },
  );
  const operator = fc.constantFrom("", "^", "~", "=", ">=", "<=", ">", "<");
  const partial = fc.oneof(
    fc.tuple(number, number, number, prerelease).map(([a, b, c, pre]) => `${a}.${b}.${c}${pre}`),
    fc.tuple(number, number).map(([a, b]) => `${a}.${b}`),
    number,
    fc.constantFrom("1.*", "0.*", "*", "1.2.*"),
  );
  const comparator = fc
    .tuple(operator, fc.constantFrom("", " "), partial)
    .map(([op, space, v]) => `${op}${op === "" ? "" : space}${v}`);
  const requirement = fc.array(comparator, { minLength: 1, maxLength: 3 }).map((parts) => parts.join(", "));

  it("meets exactly when semver.satisfies says so, for any version and requirement", () => {
    fc.assert(
      fc.property(version, requirement, (text, cargo) => {
        const range = cargoRequirementToRange(cargo);
        const compiled = compileCargoRequirement(cargo);
        expect(compiled === null).toBe(range === null);
        if (range === null || compiled === null) return;
        const read = readIndexVersion(text);
        expect(read === null).toBe(valid(text) === null);
        const expected = valid(text) !== null && satisfies(text, range);
        expect(read !== null && meetsRequirement(read, compiled), `${text} against ${cargo} (${range})`).toBe(expected);
      }),
      { numRuns: 20_000 },
    );
  });

  it("orders versions exactly as semver.compare does", () => {
    fc.assert(
      fc.property(version, version, (a, b) => {
        const readA = readIndexVersion(a);
        const readB = readIndexVersion(b);
        if (readA === null || readB === null) return;
        expect(compareIndexVersions(readA, readB), `${a} vs ${b}`).toBe(compare(a, b));
      }),
      { numRuns: 20_000 },
    );
  });

  it("keeps pre-releases out unless a comparator of the same release has one", () => {
    const beta = readIndexVersion("1.0.0-beta.2");
    const release = readIndexVersion("1.0.0");
    const withPre = compileCargoRequirement(">= 1.0.0-beta.1");
    const withoutPre = compileCargoRequirement(">= 0.9.0");
    if (beta === null || release === null || withPre === null || withoutPre === null) throw new Error("fixture");
    expect(meetsRequirement(beta, withPre)).toBe(true);
    expect(meetsRequirement(beta, withoutPre)).toBe(false);
    expect(meetsRequirement(release, withPre)).toBe(true);
  });
});
