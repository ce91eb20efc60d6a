/**
 * Every package the CLI's bundle leaves to be imported at run time is a runtime dependency: the installed package has
 * nothing else. esbuild's metafile lists the bundle's imports, including those on paths a smoke run does not take.
 */
import { readFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

describe("the CLI bundle's imports", () => {
  it("are Node built-ins or runtime dependencies, never devDependencies", async () => {
    const manifest = JSON.parse(readFileSync(`${ROOT}package.json`, "utf8")) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    // As scripts/build-cli.mjs bundles it: every package external.
    const result = await build({
      entryPoints: [`${ROOT}src/cli.ts`],
      bundle: true,
      platform: "node",
      format: "esm",
      packages: "external",
      write: false,
      outfile: "cli.mjs",
      metafile: true,
      logLevel: "silent",
    });
    const imported = new Set<string>();
    for (const input of Object.values(result.metafile.inputs)) {
      for (const { path, external } of input.imports) {
        if (!external || isBuiltin(path)) continue;
        imported.add(
          path
            .split("/")
            .slice(0, path.startsWith("@") ? 2 : 1)
            .join("/"),
        );
      }
    }
    expect(imported.size).toBeGreaterThan(0);
    for (const name of imported) expect(Object.keys(manifest.dependencies), name).toContain(name);
    expect([...imported].filter((name) => name in manifest.devDependencies)).toEqual([]);
    expect(Object.keys(manifest.dependencies)).not.toContain("esbuild");
    expect(Object.keys(manifest.dependencies)).not.toContain("tsx");
  });
});
