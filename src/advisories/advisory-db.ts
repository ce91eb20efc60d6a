import { createReadStream } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { parse } from "smol-toml";
import tar from "tar-stream";
import { download, isUrl } from "../node/download.ts";
import { UserError } from "../node/user-error.ts";

/** One RustSec advisory, as security-fix admission needs it. */
export interface AdvisoryEntry {
  readonly id: string;
  /** Lowercased crate name. */
  readonly crate: string;
  /** `[versions] patched`: Cargo version requirements. */
  readonly patched: readonly string[];
  /** Withdrawn advisories are kept (to show) but never admit anything. */
  readonly withdrawn: boolean;
}

export interface AdvisoryDb {
  readonly advisories: readonly AdvisoryEntry[];
  /** Files that looked like advisories but could not be read, with why; they admit nothing. */
  readonly unreadable: readonly { readonly path: string; readonly reason: string }[];
}

/** `crates/<name>/RUSTSEC-YYYY-NNNN.md`, anywhere below the root (a checkout, or an archive's top folder). */
const ADVISORY_PATH = /(?:^|\/)crates\/([^/]+)\/(RUSTSEC-\d{4}-\d{4,})\.md$/;

/**
 * Reads rustsec/advisory-db from a checkout (a directory), or a .tar.gz of one (path or URL, e.g. GitHub's archive of
 * the main branch).
 */
export async function readAdvisoryDb(source: string): Promise<AdvisoryDb> {
  const files = isUrl(source)
    ? await filesFromArchive((await download(source, "the advisory database")).stream, source)
    : await filesFromPath(source);
  const advisories: AdvisoryEntry[] = [];
  const unreadable: { path: string; reason: string }[] = [];
  for (const [path, text] of files) {
    try {
      advisories.push(parseAdvisoryFile(path, text));
    } catch (error) {
      unreadable.push({ path, reason: (error as Error).message });
    }
  }
  if (advisories.length === 0) {
    throw new UserError(
      `no advisories found in ${source}; expected rustsec/advisory-db (crates/<name>/RUSTSEC-YYYY-NNNN.md)`,
    );
  }
  return { advisories, unreadable };
}

/** Parses one advisory: a Markdown file that opens with a ```toml fenced block holding [advisory] and [versions]. */
export function parseAdvisoryFile(path: string, text: string): AdvisoryEntry {
  const match = ADVISORY_PATH.exec(path);
  const fence = /^\s*```toml\r?\n([\s\S]*?)\r?\n```/.exec(text);
  if (fence === null) throw new Error("does not open with a ```toml block");
  let document: Record<string, unknown>;
  try {
    document = parse(fence[1] as string) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`its TOML block is not valid: ${(error as Error).message.split("\n", 1)[0]}`);
  }
  const advisory = document.advisory as Record<string, unknown> | undefined;
  const versions = (document.versions ?? {}) as Record<string, unknown>;
  if (typeof advisory !== "object" || advisory === null) throw new Error("has no [advisory] table");
  if (typeof advisory.id !== "string" || !/^RUSTSEC-\d{4}-\d{4,}$/.test(advisory.id))
    throw new Error("has no RUSTSEC id");
  if (typeof advisory.package !== "string" || advisory.package === "") throw new Error("has no package");
  const patched = versions.patched ?? [];
  if (!Array.isArray(patched) || !patched.every((p) => typeof p === "string"))
    throw new Error("[versions] patched is not a list of strings");
  if (match !== null && match[2] !== advisory.id) throw new Error(`is named ${match[2]} but holds ${advisory.id}`);
  return {
    id: advisory.id,
    crate: advisory.package.toLowerCase(),
    patched: patched as string[],
    withdrawn: advisory.withdrawn !== undefined && advisory.withdrawn !== false,
  };
}

async function filesFromPath(source: string): Promise<Map<string, string>> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(source);
  } catch (error) {
    throw new UserError(
      `cannot read the advisory database ${source}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  if (!info.isDirectory()) return filesFromArchive(createReadStream(source), source);
  const files = new Map<string, string>();
  const cratesDir = join(source, "crates");
  let crates: string[];
  try {
    crates = await readdir(cratesDir);
  } catch {
    throw new UserError(`${source} has no crates/ folder; expected a checkout of rustsec/advisory-db`);
  }
  for (const crate of crates) {
    const dir = join(cratesDir, crate);
    if (!(await stat(dir)).isDirectory()) continue;
    for (const name of await readdir(dir)) {
      const path = `crates/${crate}/${name}`;
      if (ADVISORY_PATH.test(path)) files.set(path, await readFile(join(dir, name), "utf8"));
    }
  }
  return files;
}

async function filesFromArchive(stream: Readable, source: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const extract = tar.extract();
  extract.on("entry", (header, entry, next) => {
    if (header.type !== "file" || !ADVISORY_PATH.test(header.name)) {
      entry.on("end", next).resume();
      return;
    }
    const chunks: Buffer[] = [];
    entry.on("data", (chunk: unknown) => chunks.push(chunk as Buffer));
    entry.on("end", () => {
      files.set(header.name, Buffer.concat(chunks).toString("utf8"));
      next();
    });
  });
  try {
    await pipeline(stream, createGunzip(), extract);
  } catch (error) {
    throw new UserError(
      `the advisory database archive ${source} is not a readable .tar.gz: ${(error as Error).message}`,
    );
  }
  return files;
}
