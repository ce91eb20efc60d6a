import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SRC = join(ROOT, "src");
const DEPCRUISE = join(ROOT, "node_modules", "dependency-cruiser", "bin", "dependency-cruise.mjs");

/** The rooms of src/ (.dependency-cruiser.cjs orders them) and the lone files beside them. */
const ROOMS = ["core", "edge", "store", "node", "dump", "feed", "advisories", "kv", "job", "server", "inspect"];
const LONE_FILES = ["cli.ts", "package-version.ts"];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith(".ts")
        ? [join(dir, entry.name)]
        : [],
  );
}

/** The code of a file without its comments (a comment may name SQL it explains). */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

/** SQL, or a reach into the store's SQLite connection (`database.db`). */
const SQL_OR_CONNECTION =
  /\b(SELECT|INSERT INTO|UPDATE|DELETE FROM|PRAGMA|CREATE TABLE|CREATE INDEX|ON CONFLICT|WITHOUT ROWID)\b|\.prepare(<[^>]*>)?\(|\.pragma\(|\b\w*(database|Database|db)\.db\b/;

describe("the rooms of src/", () => {
  it("import only what .dependency-cruiser.cjs allows: core alone, edge on core, each room only rooms below it, no cycles", () => {
    const run = spawnSync(
      process.execPath,
      [DEPCRUISE, "src", "--config", ".dependency-cruiser.cjs", "--output-type", "err-long"],
      {
        cwd: ROOT,
        encoding: "utf8",
      },
    );
    expect(run.status, `dependency-cruiser found broken layering:\n${run.stdout}${run.stderr}`).toBe(0);
  });

  it("are the rooms the layering names, and nothing else", () => {
    const entries = readdirSync(SRC, { withFileTypes: true });
    expect(
      entries
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name)
        .sort(),
    ).toEqual([...ROOMS].sort());
    expect(
      entries
        .filter((entry) => entry.isFile())
        .map((entry) => entry.name)
        .sort(),
    ).toEqual([...LONE_FILES].sort());
  });

  it("keep SQL and the SQLite connection in src/store", () => {
    const offenders = sourceFiles(SRC)
      .filter((file) => !relative(SRC, file).startsWith(`store/`))
      .flatMap((file) =>
        withoutComments(readFileSync(file, "utf8"))
          .split("\n")
          .filter((line) => SQL_OR_CONNECTION.test(line))
          .map((line) => `${relative(ROOT, file)}: ${line.trim()}`),
      );
    expect(offenders, "SQL outside src/store").toEqual([]);
  });
});
