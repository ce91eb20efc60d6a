import { parse, TomlError } from "smol-toml";

/** Where a locked package comes from, as far as the check is concerned. */
export type PackageOrigin = "crates-io" | "other-registry" | "git" | "path";

export interface LockedPackage {
  readonly name: string;
  readonly version: string;
  readonly origin: PackageOrigin;
  /** The lockfile's `source` string, when there is one. */
  readonly source: string | null;
}

export interface Lockfile {
  /** Lockfile format: 1 (no `version` key), 2, 3 or 4. */
  readonly format: number;
  readonly packages: readonly LockedPackage[];
}

export class LockfileError extends Error {
  override readonly name = "LockfileError";
}

/** crates.io as Cargo.lock names it: the git index URL (every cargo), or the sparse URL some tools write. */
const CRATES_IO_SOURCES = new Set([
  "registry+https://github.com/rust-lang/crates.io-index",
  "sparse+https://index.crates.io/",
]);

/** Parses Cargo.lock (formats 1–4) with a TOML parser and classifies each package's source. */
export function parseLockfile(text: string): Lockfile {
  let document: Record<string, unknown>;
  try {
    document = parse(text) as Record<string, unknown>;
  } catch (error) {
    const where = error instanceof TomlError ? ` at line ${error.line}` : "";
    throw new LockfileError(`not valid TOML${where}: ${(error as Error).message.split("\n", 1)[0]}`);
  }
  const format = document.version === undefined ? 1 : document.version;
  if (typeof format !== "number" || !Number.isInteger(format) || format < 1 || format > 4) {
    throw new LockfileError(`lockfile version ${JSON.stringify(document.version)} is not one this tool reads (1–4)`);
  }
  const entries = document.package ?? [];
  if (!Array.isArray(entries)) throw new LockfileError("`package` is not an array of tables");
  const packages = entries.map((entry: unknown, index: number): LockedPackage => {
    const fields = entry as Record<string, unknown>;
    if (
      typeof fields !== "object" ||
      fields === null ||
      typeof fields.name !== "string" ||
      typeof fields.version !== "string"
    ) {
      throw new LockfileError(`[[package]] number ${index + 1} has no string name and version`);
    }
    const source = typeof fields.source === "string" ? fields.source : null;
    return { name: fields.name, version: fields.version, origin: originOf(source), source };
  });
  return { format, packages };
}

function originOf(source: string | null): PackageOrigin {
  if (source === null) return "path";
  if (CRATES_IO_SOURCES.has(source)) return "crates-io";
  if (source.startsWith("git+")) return "git";
  return "other-registry";
}
