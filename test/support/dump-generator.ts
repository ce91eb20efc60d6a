import {
  closeSync,
  createReadStream,
  createWriteStream,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  truncateSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import tar from "tar-stream";

/**
 * Writes crates.io database dumps in the exact layout of `https://static.crates.io/db-dump.tar.gz` (see
 * ../shared/docs/crates-io-data.md): one top folder `YYYY-MM-DD-HHMMSS/` with README.md, export.sql, import.sql,
 * metadata.json, schema.sql and `data/*.csv`, crates.csv before versions.csv, PostgreSQL `COPY … CSV` quoting and
 * time format. Deliberately independent of src/ (its own CSV writer and time formatter), so it can prove the reader.
 * CSV bodies go through temporary files, so a full-scale dump never sits in memory.
 */

/** A CSV value: text, or `null` for SQL NULL (written as an empty unquoted field, as PostgreSQL does). */
export type CsvValue = string | null;

export interface DumpCrate {
  readonly id: number;
  readonly name: string;
  readonly createdAt?: string;
  readonly description?: CsvValue;
  /** Whole README text: multi-line, quotes, commas — the reason a real CSV parser is needed. */
  readonly readme?: CsvValue;
}

export interface DumpVersion {
  readonly id: number;
  readonly crateId: number;
  readonly num: string;
  /** PostgreSQL text, e.g. `2025-09-17 14:51:15.07702+00` (see `postgresTime`); written verbatim. */
  readonly createdAt: string;
  readonly yanked?: boolean;
  readonly features?: CsvValue;
  readonly description?: CsvValue;
  /** users.csv id of the publishing account; `null` for none (trusted publishing, or a version from before 2019). */
  readonly publishedBy?: number | null;
}

/** A users.csv row (`gh_login`) or a teams.csv row (`login`, `github:org:team`). */
export interface DumpAccount {
  readonly id: number;
  readonly login: string;
}

export interface DumpCrateOwner {
  readonly crateId: number;
  readonly ownerId: number;
  /** 0 a user, 1 a team. */
  readonly ownerKind?: 0 | 1;
  /** PostgreSQL text (see `postgresTime`). */
  readonly createdAt: string;
}

export interface DumpDeletedCrate {
  readonly id: number;
  readonly name: string;
  readonly createdAt: string;
  readonly deletedAt: string;
  readonly availableAt?: string;
  readonly message?: string;
}

export interface DumpContent {
  /** The snapshot's start: names the top folder and is `metadata.json`'s `timestamp`. */
  readonly timestamp: Date;
  readonly crates: Iterable<DumpCrate>;
  readonly versions: Iterable<DumpVersion>;
  readonly deletedCrates?: Iterable<DumpDeletedCrate>;
  /** users.csv; default: users 1…1000 as `user-<id>` (the accounts the default `published_by` refers to). */
  readonly users?: Iterable<DumpAccount>;
  readonly teams?: Iterable<DumpAccount>;
  /** crate_owners.csv; default: one row, user 1 owning crate 1. */
  readonly crateOwners?: Iterable<DumpCrateOwner>;
  /** Rows in the skipped CSVs (dependencies.csv, version_downloads.csv); default 3 each. */
  readonly fillerRows?: number;
}

export type DumpTable = "crates" | "versions" | "deleted_crates" | "users" | "crate_owners";

export interface DumpLayout {
  /** Columns in a seeded random order instead of the real alphabetical one. */
  readonly shuffleColumnsSeed?: number;
  /** Unknown columns (with quoted, multi-line values) mixed into crates.csv, versions.csv and deleted_crates.csv. */
  readonly extraColumns?: boolean;
  readonly dropColumns?: Partial<Record<DumpTable, readonly string[]>>;
  /** Paths below the top folder to leave out, e.g. `data/versions.csv` or `metadata.json`. */
  readonly omitFiles?: readonly string[];
  /** Replaces metadata.json's text. */
  readonly metadataJson?: string;
  /** Puts versions.csv before crates.csv (the real dump never does). */
  readonly versionsFirst?: boolean;
  readonly gzipLevel?: number;
}

export interface DumpArchive {
  readonly path: string;
  /** Compressed size in bytes. */
  readonly bytes: number;
  /** Total bytes of the CSV files inside. */
  readonly csvBytes: number;
  /** The top folder, e.g. `2026-11-21-020017`. */
  readonly folder: string;
}

/** The real column sets (2026), alphabetical as the dump writes them. */
export const CRATES_COLUMNS = [
  "created_at",
  "description",
  "documentation",
  "homepage",
  "id",
  "max_features",
  "max_upload_size",
  "name",
  "readme",
  "repository",
  "trustpub_only",
  "updated_at",
] as const;
export const VERSIONS_COLUMNS = [
  "bin_names",
  "categories",
  "crate_id",
  "crate_size",
  "created_at",
  "description",
  "documentation",
  "downloads",
  "edition",
  "features",
  "has_lib",
  "homepage",
  "id",
  "keywords",
  "license",
  "links",
  "num",
  "num_no_build",
  "published_by",
  "repository",
  "rust_version",
  "tar_sha256",
  "updated_at",
  "yanked",
  "zip_json_sha256",
  "zip_sha256",
] as const;
export const DELETED_CRATES_COLUMNS = [
  "available_at",
  "created_at",
  "deleted_at",
  "deleted_by",
  "id",
  "message",
  "name",
] as const;

/**
 * A PostgreSQL timestamp as the dump writes it: `2025-09-17 14:51:15.07702+00`. `fractionDigits` 0–6 digits of the
 * sub-second part (PostgreSQL drops trailing zeros, so real dumps have any count from 0 to 6).
 */
export function postgresTime(at: number, fractionDigits = 6, fraction = 0.5, offset = "+00"): string {
  const iso = new Date(Math.floor(at) * 1000).toISOString();
  let text = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  if (fractionDigits > 0)
    text += `.${String(Math.floor(fraction * 10 ** fractionDigits)).padStart(fractionDigits, "0")}`;
  return text + offset;
}

/** The top folder name for a snapshot time: `YYYY-MM-DD-HHMMSS`. */
export function dumpFolderName(timestamp: Date): string {
  const iso = timestamp.toISOString();
  return `${iso.slice(0, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
}

/** PostgreSQL CSV quoting: NULL is empty; empty text and text with `,` `"` CR LF are quoted, `"` doubled. */
export function csvField(value: CsvValue): string {
  if (value === null) return "";
  if (value === "" || /[",\r\n]/.test(value)) return `"${value.replace(/"/g, '""')}"`;
  return value;
}

/** Writes a dump archive to `path` and returns its sizes. */
export async function writeDumpArchive(
  path: string,
  content: DumpContent,
  layout: DumpLayout = {},
): Promise<DumpArchive> {
  const folder = dumpFolderName(content.timestamp);
  const staging = mkdtempSync(join(tmpdir(), "cc-dump-gen-"));
  try {
    const random = seededRandom(layout.shuffleColumnsSeed ?? 1);
    const columnsOf = (table: DumpTable, real: readonly string[]): string[] => {
      let columns = real.filter((c) => !(layout.dropColumns?.[table] ?? []).includes(c));
      if (layout.extraColumns) columns = [...columns, "aaa_future_flag", "mid_future_notes", "zzz_future_json"].sort();
      if (layout.shuffleColumnsSeed !== undefined) columns = shuffle(columns, random);
      return columns;
    };
    const files: { name: string; file: string | null; text?: string }[] = [];
    const text = (name: string, body: string) => files.push({ name, file: null, text: body });
    const csv = (name: string, columns: readonly string[], rows: Iterable<Record<string, CsvValue>>) => {
      const file = join(staging, name.replace(/\//g, "_"));
      writeCsvFile(file, columns, rows);
      files.push({ name, file });
    };

    text("README.md", "# crates.io database dump\n\nThis is a (generated) dump of the public data in crates.io.\n");
    text(
      "export.sql",
      "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\n\\copy \"crates\" TO 'data/crates.csv' WITH CSV HEADER\nCOMMIT;\n",
    );
    text("import.sql", "BEGIN;\n\\copy \"crates\" FROM 'data/crates.csv' WITH CSV HEADER\nCOMMIT;\n");
    text(
      "metadata.json",
      layout.metadataJson ??
        `${JSON.stringify({ timestamp: content.timestamp.toISOString().replace("Z", "417Z"), crates_io_commit: "0123456789abcdef0123456789abcdef01234567" }, null, 2)}\n`,
    );
    text(
      "schema.sql",
      "CREATE TABLE public.crates (\n    id integer NOT NULL,\n    name character varying NOT NULL\n);\n",
    );

    const extras = (row: Record<string, CsvValue>, seed: number) => {
      if (!layout.extraColumns) return row;
      row.aaa_future_flag = seed % 2 === 0 ? "t" : "f";
      row.mid_future_notes = seed % 3 === 0 ? null : `note ${seed}, "quoted"\nsecond line`;
      row.zzz_future_json = `{"n":${seed},"s":"a,b"}`;
      return row;
    };
    const cratesCsv = () =>
      csv(
        "data/crates.csv",
        columnsOf("crates", CRATES_COLUMNS),
        map(content.crates, (c) => extras(crateRow(c), c.id)),
      );
    const versionsCsv = () =>
      csv(
        "data/versions.csv",
        columnsOf("versions", VERSIONS_COLUMNS),
        map(content.versions, (v) => extras(versionRow(v), v.id)),
      );
    const filler = content.fillerRows ?? 3;

    csv(
      "data/categories.csv",
      ["category", "crates_cnt", "created_at", "description", "id", "path", "slug"],
      [
        {
          category: "Command line utilities",
          crates_cnt: "1",
          created_at: postgresTime(1.5e9),
          description: "Applications to run at the command line.",
          id: "1",
          path: "command_line_utilities",
          slug: "command-line-utilities",
        },
      ],
    );
    if (layout.versionsFirst) versionsCsv();
    cratesCsv();
    csv(
      "data/keywords.csv",
      ["crates_cnt", "created_at", "id", "keyword"],
      [{ crates_cnt: "1", created_at: postgresTime(1.5e9), id: "1", keyword: "cli" }],
    );
    csv("data/metadata.csv", ["total_downloads"], [{ total_downloads: "123456789" }]);
    csv("data/reserved_crate_names.csv", ["name"], [{ name: "std" }, { name: "core" }]);
    csv(
      "data/teams.csv",
      ["avatar", "github_id", "id", "login", "name", "org_id"],
      map(content.teams ?? [], (t) => ({
        avatar: null,
        github_id: String(1000 + t.id),
        id: String(t.id),
        login: t.login,
        name: "A team, of people",
        org_id: String(t.id),
      })),
    );
    csv(
      "data/users.csv",
      columnsOf("users", ["created_at", "gh_id", "gh_login", "id", "name", "username"]),
      map(content.users ?? range(1000, (i) => ({ id: i + 1, login: `user-${i + 1}` })), (u) => ({
        created_at: postgresTime(1.4e9 + u.id),
        gh_id: String(5000 + u.id),
        gh_login: u.login,
        id: String(u.id),
        name: u.id % 4 === 0 ? null : `Some, "One" ${u.id}`,
        username: u.login,
      })),
    );
    csv(
      "data/crate_owners.csv",
      columnsOf("crate_owners", ["crate_id", "created_at", "created_by", "owner_id", "owner_kind"]),
      map(content.crateOwners ?? [{ crateId: 1, ownerId: 1, createdAt: postgresTime(1.5e9) }], (o) => ({
        crate_id: String(o.crateId),
        created_at: o.createdAt,
        created_by: null,
        owner_id: String(o.ownerId),
        owner_kind: String(o.ownerKind ?? 0),
      })),
    );
    csv(
      "data/deleted_crates.csv",
      columnsOf("deleted_crates", DELETED_CRATES_COLUMNS),
      map(content.deletedCrates ?? [], (d) => extras(deletedRow(d), d.id)),
    );
    if (!layout.versionsFirst) versionsCsv();
    csv(
      "data/default_versions.csv",
      ["crate_id", "num_versions", "version_id"],
      [{ crate_id: "1", num_versions: "1", version_id: "1" }],
    );
    csv(
      "data/dependencies.csv",
      [
        "crate_id",
        "default_features",
        "explicit_name",
        "features",
        "id",
        "kind",
        "optional",
        "req",
        "target",
        "version_id",
      ],
      range(filler, (i) => ({
        crate_id: String(1 + (i % 97)),
        default_features: "t",
        explicit_name: null,
        features: i % 3 === 0 ? '{"std"}' : "{}",
        id: String(i + 1),
        kind: "0",
        optional: "f",
        req: `^${i % 5}.${i % 7}`,
        target: i % 11 === 0 ? 'cfg(target_os = "linux")' : null,
        version_id: String(1 + (i >> 1)),
      })),
    );
    csv(
      "data/version_downloads.csv",
      ["date", "downloads", "version_id"],
      range(filler, (i) => ({ date: "2026-11-20", downloads: String((i * 7919) % 10_000), version_id: String(i + 1) })),
    );

    const kept = files.filter((f) => !(layout.omitFiles ?? []).includes(f.name));
    const pack = tar.pack();
    const written = pipeline(pack, createGzip({ level: layout.gzipLevel ?? 6 }), createWriteStream(path));
    const mtime = content.timestamp;
    const directory = (name: string) =>
      new Promise<void>((resolve, reject) =>
        pack.entry({ name, type: "directory", mode: 0o755, mtime }, (e) => (e ? reject(e) : resolve())),
      );
    await directory(`${folder}/`);
    let dataDirectoryWritten = false;
    let csvBytes = 0;
    for (const f of kept) {
      if (f.name.startsWith("data/") && !dataDirectoryWritten) {
        await directory(`${folder}/data/`);
        dataDirectoryWritten = true;
      }
      const name = `${folder}/${f.name}`;
      if (f.file === null) {
        await new Promise<void>((resolve, reject) =>
          pack.entry({ name, mode: 0o644, mtime }, f.text ?? "", (e) => (e ? reject(e) : resolve())),
        );
        continue;
      }
      const size = statSync(f.file).size;
      csvBytes += size;
      const entry = pack.entry({ name, size, mode: 0o644, mtime });
      await pipeline(createReadStream(f.file, { highWaterMark: 1 << 20 }), entry);
    }
    pack.finalize();
    await written;
    return { path, bytes: statSync(path).size, csvBytes, folder };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Cuts a file to its first `bytes` bytes (a download that stopped early). */
export function truncateArchive(path: string, bytes: number): void {
  truncateSync(path, bytes);
}

function crateRow(c: DumpCrate): Record<string, CsvValue> {
  const created = c.createdAt ?? postgresTime(1.4e9 + c.id * 60);
  return {
    created_at: created,
    description: c.description === undefined ? `The ${c.name} crate, "fast", small` : c.description,
    documentation: c.id % 3 === 0 ? null : `https://docs.rs/${c.name}`,
    homepage: null,
    id: String(c.id),
    max_features: null,
    max_upload_size: null,
    name: c.name,
    readme:
      c.readme === undefined
        ? `# ${c.name}\n\nA "crate", with commas.\r\n\n\`\`\`rust\nlet x = "y";\n\`\`\`\n`
        : c.readme,
    repository: `https://github.com/example/${c.name}`,
    trustpub_only: "f",
    updated_at: created,
  };
}

function versionRow(v: DumpVersion): Record<string, CsvValue> {
  const hex = sha256ish(v.id);
  return {
    bin_names: v.id % 5 === 0 ? "{tool}" : "{}",
    categories: "{}",
    crate_id: String(v.crateId),
    crate_size: String(1000 + ((v.id * 7919) % 90_000)),
    created_at: v.createdAt,
    description: v.description === undefined ? `Version ${v.num}, "improved"` : v.description,
    documentation: null,
    downloads: String((v.id * 104_729) % 1_000_000),
    edition: v.id % 4 === 0 ? null : "2021",
    features: v.features === undefined ? '{"default":["std"],"std":[]}' : v.features,
    has_lib: "t",
    homepage: null,
    id: String(v.id),
    keywords: v.id % 2 === 0 ? "{cli,parser}" : "{}",
    license: "MIT OR Apache-2.0",
    links: null,
    num: v.num,
    num_no_build: v.num.replace(/\+.*$/, ""),
    published_by:
      v.publishedBy === undefined
        ? v.id % 7 === 0
          ? null
          : String(1 + (v.id % 1000))
        : v.publishedBy === null
          ? null
          : String(v.publishedBy),
    repository: null,
    rust_version: v.id % 3 === 0 ? "1.70" : null,
    tar_sha256: `\\x${hex}`,
    updated_at: v.createdAt,
    yanked: v.yanked ? "t" : "f",
    zip_json_sha256: null,
    zip_sha256: null,
  };
}

function deletedRow(d: DumpDeletedCrate): Record<string, CsvValue> {
  return {
    available_at: d.availableAt ?? d.deletedAt,
    created_at: d.createdAt,
    deleted_at: d.deletedAt,
    deleted_by: null,
    id: String(d.id),
    message: d.message ?? "",
    name: d.name,
  };
}

/** Writes a CSV with buffered synchronous writes (fast, bounded memory). */
function writeCsvFile(file: string, columns: readonly string[], rows: Iterable<Record<string, CsvValue>>): void {
  const fd = openSync(file, "w");
  try {
    let buffer = `${columns.map(csvField).join(",")}\n`;
    for (const row of rows) {
      let line = "";
      for (let k = 0; k < columns.length; k++) {
        const value = row[columns[k] as string];
        if (k > 0) line += ",";
        line += csvField(value === undefined ? null : value);
      }
      buffer += `${line}\n`;
      if (buffer.length > 1 << 20) {
        writeSync(fd, buffer);
        buffer = "";
      }
    }
    writeSync(fd, buffer);
  } finally {
    closeSync(fd);
  }
}

function* map<T, U>(items: Iterable<T>, f: (item: T) => U): Iterable<U> {
  for (const item of items) yield f(item);
}

function* range<U>(count: number, f: (i: number) => U): Iterable<U> {
  for (let i = 0; i < count; i++) yield f(i);
}

function sha256ish(seed: number): string {
  let out = "";
  let x = seed | 0;
  for (let k = 0; k < 8; k++) {
    x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x9e3779b9;
    out += (x >>> 0).toString(16).padStart(8, "0");
  }
  return out;
}

/** A small deterministic PRNG (mulberry32), so generated dumps are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

export interface SyntheticDumpOptions {
  readonly crates: number;
  readonly versions: number;
  readonly timestamp: Date;
  readonly seed?: number;
}

/**
 * A synthetic dump at any scale with realistic shapes: multi-line READMEs with quotes and commas (~1 KB), JSON
 * `features`, hashes, ~0.3 KB per version row. 250,000 crates and 3,000,000 versions come to ~0.9 GB of CSV. Versions
 * are spread over the crates unevenly and published in id order over the five years before `timestamp`.
 */
export function syntheticDumpContent(options: SyntheticDumpOptions): DumpContent {
  const { crates, versions, timestamp } = options;
  const end = Math.floor(timestamp.getTime() / 1000) - 60;
  const start = end - 5 * 365 * 86_400;
  const words = vocabulary(seededRandom((options.seed ?? 7) + 1));
  // Accounts: one per five crates; crate k is owned by user 1 + k % users, every tenth crate gains a second owner
  // later; one version in twenty is published by another account, and one in nine without one.
  const users = Math.max(1000, Math.floor(crates / 5));
  const ownerOf = (crateId: number) => 1 + (crateId % users);
  return {
    timestamp,
    fillerRows: Math.floor(versions * 0.5),
    users: {
      *[Symbol.iterator]() {
        for (let id = 1; id <= users; id++) yield { id, login: `user-${id.toString(36)}` };
      },
    },
    crateOwners: {
      *[Symbol.iterator]() {
        for (let id = 1; id <= crates; id++) {
          yield { crateId: id, ownerId: ownerOf(id), createdAt: postgresTime(start + id * 17, 6, 0.25) };
          if (id % 10 === 0)
            yield {
              crateId: id,
              ownerId: ownerOf(id * 7 + 3),
              createdAt: postgresTime(start + id * 17 + 86_400 * (id % 900), 3, 0.5),
            };
        }
      },
    },
    crates: {
      *[Symbol.iterator]() {
        const random = seededRandom(options.seed ?? 7);
        for (let id = 1; id <= crates; id++) {
          yield {
            id,
            name: syntheticCrateName(id),
            createdAt: postgresTime(start + id * 17, id % 7, random()),
            readme: readme(random, words, id),
          };
        }
      },
    },
    versions: {
      *[Symbol.iterator]() {
        const random = seededRandom((options.seed ?? 7) + 2);
        const perCrate = new Uint16Array(crates + 1);
        const step = (end - start) / versions;
        for (let id = 1; id <= versions; id++) {
          // Skewed: a few crates get many versions, as on crates.io.
          const r = random();
          const crateId = 1 + Math.floor(r * r * crates);
          const n = perCrate[crateId] as number;
          perCrate[crateId] = n + 1;
          const num = n % 17 === 16 ? `0.${n >> 4}.${n & 15}+build.${n}` : `${n >> 8}.${(n >> 4) & 15}.${n & 15}`;
          yield {
            id,
            crateId,
            num,
            createdAt: postgresTime(start + Math.floor(id * step), id % 7, random()),
            yanked: id % 53 === 0,
            features: id % 3 === 0 ? `{"default":["std"],"${words[id % words.length]}":[]}` : "{}",
            description: id % 2 === 0 ? `${words[id % words.length]}, "${words[(id * 13) % words.length]}"` : null,
            publishedBy: id % 9 === 0 ? null : id % 20 === 0 ? ownerOf(id) : ownerOf(crateId),
          };
        }
      },
    },
  };
}

/** Crate names in crates.io's alphabet, distinct per id, some with capitals (names are matched case-insensitively). */
export function syntheticCrateName(id: number): string {
  const base = `${["serde", "tokio", "rand", "log", "clap", "Syn", "quote", "hyper"][id % 8]}-${id.toString(36)}`;
  return id % 5 === 0 ? base.replace(/-/g, "_") : base;
}

function vocabulary(random: () => number): string[] {
  const letters = "abcdefghijklmnopqrstuvwxyz";
  const out: string[] = [];
  for (let i = 0; i < 4096; i++) {
    const length = 2 + Math.floor(random() * 9);
    let w = "";
    for (let k = 0; k < length; k++) w += letters[Math.floor(random() * 26)];
    out.push(w);
  }
  return out;
}

function readme(random: () => number, words: readonly string[], id: number): string {
  const lines = 5 + Math.floor(random() * 12);
  let text = `# crate ${id}\n\n`;
  for (let l = 0; l < lines; l++) {
    const count = 4 + Math.floor(random() * 10);
    let line = "";
    for (let k = 0; k < count; k++) line += `${words[Math.floor(random() * words.length)]} `;
    const kind = Math.floor(random() * 6);
    if (kind === 0) line = `- "${line.trim()}", see below`;
    else if (kind === 1) line = `\`\`\`rust\nlet v = "${line.trim()}";\n\`\`\``;
    text += `${line}\n`;
  }
  return text;
}
