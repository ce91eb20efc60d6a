import { describe, expect, it } from "vitest";
import { scanIndexFile } from "../../src/core/index-file.ts";
import { admittedFixes } from "../../src/core/security-fixes.ts";
import { indexLine } from "../support/in-memory-ports.ts";

const file = (versions: [string, boolean?][]) =>
  scanIndexFile(
    versions.map(([vers, yanked]) => indexLine({ name: "rustls", vers, yanked: yanked ?? false })).join(""),
  );
const admittedVersions = (lines: ReturnType<typeof file>, patched: string[][]) =>
  [
    ...admittedFixes(
      lines.lines,
      patched.map((p, i) => ({ id: `RUSTSEC-2026-000${i + 1}`, patched: p })),
    ),
  ].map(([index, id]) => [lines.lines[index]?.version, id]);

describe("admittedFixes", () => {
  it("admits exactly the lowest published version in the patched range, not later ones", () => {
    const lines = file([["0.23.16"], ["0.23.17"], ["0.23.18"], ["0.23.19"], ["0.24.0"]]);
    expect(admittedVersions(lines, [[">= 0.23.18"]])).toEqual([["0.23.18", "RUSTSEC-2026-0001"]]);
  });

  it("admits the lowest version by semver order, not by index order", () => {
    const lines = file([["0.24.0"], ["0.23.19"], ["0.23.18"]]);
    expect(admittedVersions(lines, [[">= 0.23.18"]])).toEqual([["0.23.18", "RUSTSEC-2026-0001"]]);
  });

  it("admits one version per patched line (backported fixes)", () => {
    const lines = file([["0.21.11"], ["0.21.12"], ["0.22.3"], ["0.22.4"], ["0.23.0"], ["0.23.1"]]);
    expect(admittedVersions(lines, [["^0.21.12", "^0.22.4", ">= 0.23.1"]]).sort()).toEqual([
      ["0.21.12", "RUSTSEC-2026-0001"],
      ["0.22.4", "RUSTSEC-2026-0001"],
      ["0.23.1", "RUSTSEC-2026-0001"],
    ]);
  });

  it("skips a yanked fix and admits the next one in the range", () => {
    const lines = file([["1.0.0"], ["1.0.1", true], ["1.0.2"]]);
    expect(admittedVersions(lines, [[">= 1.0.1"]])).toEqual([["1.0.2", "RUSTSEC-2026-0001"]]);
  });

  it("admits nothing when no published version is patched yet, or the requirement is not Cargo's", () => {
    expect(admittedVersions(file([["1.0.0"]]), [[">= 1.0.1"]])).toEqual([]);
    expect(admittedVersions(file([["1.0.0"]]), [["1.0.0 || 2.0.0"]])).toEqual([]);
  });

  it("uses Cargo's caret meaning for a bare version", () => {
    const lines = file([["1.2.2"], ["1.2.3"], ["1.3.0"]]);
    expect(admittedVersions(lines, [["1.2.3"]])).toEqual([["1.2.3", "RUSTSEC-2026-0001"]]);
  });
});
