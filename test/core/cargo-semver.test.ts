import { describe, expect, it } from "vitest";
import { cargoRequirementToRange, meetsCargoRequirement } from "../../src/core/cargo-semver.ts";

const meets = (version: string, requirement: string) => {
  const range = cargoRequirementToRange(requirement);
  if (range === null) throw new Error(`not a requirement: ${requirement}`);
  return meetsCargoRequirement(version, range);
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
    expect(meetsCargoRequirement("not-a-version", cargoRequirementToRange(">= 0.0.0") as string)).toBe(false);
  });
});
