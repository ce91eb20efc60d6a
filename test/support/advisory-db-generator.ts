import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import tar from "tar-stream";

/** One advisory for the miniature database, in the fields the real files carry. */
export interface GeneratedAdvisory {
  readonly id: string;
  readonly package: string;
  readonly date?: string;
  readonly patched?: readonly string[];
  readonly unaffected?: readonly string[];
  /** A date: the advisory was withdrawn. */
  readonly withdrawn?: string;
  readonly categories?: readonly string[];
  /** Replaces the whole file text (for malformed-file tests). */
  readonly rawText?: string;
}

/** The text of one advisory file as rustsec/advisory-db writes it: a ```toml block, then Markdown. */
export function advisoryText(advisory: GeneratedAdvisory): string {
  if (advisory.rawText !== undefined) return advisory.rawText;
  const list = (items: readonly string[] | undefined) =>
    `[${(items ?? []).map((item) => JSON.stringify(item)).join(", ")}]`;
  return [
    "```toml",
    "[advisory]",
    `id = "${advisory.id}"`,
    `package = "${advisory.package}"`,
    `date = "${advisory.date ?? "2026-11-20"}"`,
    `url = "https://github.com/example/${advisory.package}/issues/1"`,
    `categories = ${list(advisory.categories ?? ["memory-corruption"])}`,
    `keywords = ["example"]`,
    ...(advisory.withdrawn === undefined ? [] : [`withdrawn = "${advisory.withdrawn}"`]),
    "",
    "[versions]",
    `patched = ${list(advisory.patched)}`,
    `unaffected = ${list(advisory.unaffected)}`,
    "```",
    "",
    `# A miniature advisory for ${advisory.package}`,
    "",
    "Generated for tests; the layout follows rustsec/advisory-db.",
    "",
  ].join("\n");
}

/** Writes a checkout-shaped folder: crates/<name>/<id>.md, plus a README like the real repository's. */
export function writeAdvisoryDbFolder(root: string, advisories: readonly GeneratedAdvisory[]): string {
  mkdirSync(join(root, "crates"), { recursive: true });
  writeFileSync(join(root, "README.md"), "# RustSec Advisory Database (miniature)\n");
  for (const advisory of advisories) {
    mkdirSync(join(root, "crates", advisory.package), { recursive: true });
    writeFileSync(join(root, "crates", advisory.package, `${advisory.id}.md`), advisoryText(advisory));
  }
  return root;
}

/** The same as a .tar.gz with a top folder, as GitHub's archive of the main branch has. */
export async function advisoryDbTarball(
  advisories: readonly GeneratedAdvisory[],
  top = "advisory-db-main",
): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on("data", (chunk: unknown) => chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve) => pack.on("end", () => resolve()));
  pack.entry({ name: `${top}/README.md` }, "# RustSec Advisory Database (miniature)\n");
  for (const advisory of advisories)
    pack.entry({ name: `${top}/crates/${advisory.package}/${advisory.id}.md` }, advisoryText(advisory));
  pack.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}
