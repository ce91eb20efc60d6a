import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import tar from "tar-stream";

/** A dependency as crates.io writes it into an index line (and as the tarball's Cargo.toml must agree with). */
export interface CrateDependency {
  /** The name the dependent uses (the key in its Cargo.toml); differs from `package` when renamed. */
  readonly name: string;
  readonly req: string;
  readonly features?: readonly string[];
  readonly optional?: boolean;
  readonly default_features?: boolean;
  /** A `cfg(...)` expression or target triple, or null for every target. */
  readonly target?: string | null;
  readonly kind?: "normal" | "build" | "dev";
  /** Index URL of another registry; crates.io itself never writes this, cargo's schema allows it. */
  readonly registry?: string;
  /** The real crate name when the dependency is renamed. */
  readonly package?: string;
}

export interface CrateContents {
  readonly name: string;
  readonly vers: string;
  readonly deps?: readonly CrateDependency[];
  /** Feature table exactly as the manifest has it (before crates.io splits it into `features`/`features2`). */
  readonly features?: Readonly<Record<string, readonly string[]>>;
  readonly links?: string;
  readonly rust_version?: string;
  /** `src/lib.rs`; by default a crate that exports its own name and version as constants. */
  readonly libSource?: string;
}

export interface CrateTarball {
  /** The exact `.crate` bytes served for download. */
  readonly bytes: Uint8Array;
  /** Lowercase hex sha256 of `bytes`: the index line's `cksum`, which cargo verifies after download. */
  readonly cksum: string;
}

// A fixed mtime keeps tarballs byte-identical across runs, so a shared CARGO_HOME's download cache stays valid.
const FIXED_MTIME = new Date(Date.UTC(2020, 0, 1));

/**
 * Builds a `.crate` file the way `cargo package` lays it out: a gzip'd tar whose entries all sit under
 * `{name}-{version}/`, with a manifest whose dependencies match the index line (cargo resolves from the index but
 * compiles from the manifest, so the two must agree).
 */
export async function buildCrateTarball(contents: CrateContents): Promise<CrateTarball> {
  const root = `${contents.name}-${contents.vers}`;
  const files: [string, string][] = [
    ["Cargo.toml", manifestFor(contents)],
    ["src/lib.rs", contents.libSource ?? defaultLibSource(contents)],
  ];
  if (contents.links !== undefined) files.push(["build.rs", "fn main() {}\n"]);
  const pack = tar.pack();
  for (const [path, text] of files) {
    pack.entry({ name: `${root}/${path}`, mode: 0o644, mtime: FIXED_MTIME, uid: 0, gid: 0 }, Buffer.from(text, "utf8"));
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  const bytes = new Uint8Array(gzipSync(Buffer.concat(chunks)));
  return { bytes, cksum: createHash("sha256").update(bytes).digest("hex") };
}

export function defaultLibSource(contents: Pick<CrateContents, "name" | "vers">): string {
  return `pub const NAME: &str = ${JSON.stringify(contents.name)};\npub const VERSION: &str = ${JSON.stringify(contents.vers)};\n`;
}

/** The manifest inside the tarball, with the same dependencies, features and `links` as the index line. */
export function manifestFor(contents: CrateContents): string {
  const out: string[] = [
    "[package]",
    `name = ${toml(contents.name)}`,
    `version = ${toml(contents.vers)}`,
    'edition = "2021"',
  ];
  if (contents.rust_version !== undefined) out.push(`rust-version = ${toml(contents.rust_version)}`);
  if (contents.links !== undefined) out.push(`links = ${toml(contents.links)}`, 'build = "build.rs"');
  out.push("", "[lib]", 'path = "src/lib.rs"');
  const sections = new Map<string, string[]>();
  for (const dep of contents.deps ?? []) {
    const table = { normal: "dependencies", build: "build-dependencies", dev: "dev-dependencies" }[
      dep.kind ?? "normal"
    ];
    const section = dep.target != null ? `target.${toml(dep.target)}.${table}` : table;
    const fields = [`version = ${toml(dep.req)}`];
    if (dep.package !== undefined) fields.push(`package = ${toml(dep.package)}`);
    if (dep.optional === true) fields.push("optional = true");
    if (dep.default_features === false) fields.push("default-features = false");
    if (dep.features !== undefined && dep.features.length > 0)
      fields.push(`features = [${dep.features.map(toml).join(", ")}]`);
    if (dep.registry !== undefined) fields.push(`registry-index = ${toml(dep.registry)}`);
    const lines = sections.get(section) ?? [];
    lines.push(`${toml(dep.name)} = { ${fields.join(", ")} }`);
    sections.set(section, lines);
  }
  for (const [section, lines] of sections) out.push("", `[${section}]`, ...lines);
  const features = Object.entries(contents.features ?? {});
  if (features.length > 0) {
    out.push("", "[features]", ...features.map(([name, values]) => `${toml(name)} = [${values.map(toml).join(", ")}]`));
  }
  return `${out.join("\n")}\n`;
}

// JSON string syntax is valid TOML basic-string syntax for the ASCII names and requirements used here.
function toml(value: string): string {
  return JSON.stringify(value);
}
