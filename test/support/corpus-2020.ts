import { createReadStream, existsSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createGunzip } from "node:zlib";
import tar from "tar-stream";
import { formatRfc3339, type UnixSeconds } from "../../src/core/time.ts";

/**
 * The real crates.io index of 2020-03-25 (see ../shared/fixtures/crates-io-2020/README.md), read straight from its
 * archive. CI has the fixture next to the repository; a fresh clone does not, so a test asks
 * `sharedFixturesPresent` whether to run (a benchmark checks `corpusAvailable()` and says it skipped).
 */

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Resolved from the repository root, so it works from any working directory and any checkout location. */
export const CORPUS_2020_ARCHIVE = resolve(REPO_ROOT, "../shared/fixtures/crates-io-2020/index.tar.gz");

/** What the fixture's README promises; tests assert these so a silently truncated read cannot pass. */
export const CORPUS_2020_FILES = 37_755;
export const CORPUS_2020_LINES = 220_008;

export const CORPUS_2020_MISSING = `the crates.io 2020 index fixture is absent (expected at ${CORPUS_2020_ARCHIVE}); it lives outside the repository, next to it, and is present in CI`;

export function corpusAvailable(): boolean {
  return existsSync(CORPUS_2020_ARCHIVE);
}

/**
 * The one place that decides what a missing ../shared fixture means for a test (`test` names it). On a fresh clone
 * the test is skipped (`it.skipIf(!present)`), and a console line says why. Under CI=true the run fails instead: CI
 * always has ../shared next to the repository, so a missing fixture there is a broken setup, never a pass.
 */
export function sharedFixturesPresent(test: string, paths: readonly string[] = [CORPUS_2020_ARCHIVE]): boolean {
  const missing = paths.filter((path) => !existsSync(path));
  if (missing.length === 0) return true;
  const why = `the shared fixture ${missing.join(" and ")} is absent; it lives outside the repository, next to it, and is present in CI`;
  if (process.env.CI === "true") throw new Error(`${test}: ${why} (under CI=true a missing ../shared fails the run)`);
  console.warn(`${test}: skipped: ${why}`);
  return false;
}

/** One crate's index file. `text` is decoded exactly as the proxy decodes an upstream body (UTF-8, BOM kept). */
export interface CorpusFile {
  /** Index path, e.g. `se/rd/serde`. */
  readonly path: string;
  readonly bytes: Uint8Array;
  readonly text: string;
}

/**
 * Streams every crate's index file out of the archive, in archive order, holding one file at a time.
 * `config.json` and directories are skipped: only crate files have index lines.
 */
export async function* readCorpus2020(archive: string = CORPUS_2020_ARCHIVE): AsyncGenerator<CorpusFile> {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const extract = tar.extract();
  const source = createReadStream(archive);
  const gunzip = createGunzip();
  // Errors of the upstream stages are forwarded so the iteration below rejects instead of hanging.
  source.on("error", (error) => extract.destroy(error));
  gunzip.on("error", (error) => extract.destroy(error));
  source.pipe(gunzip).pipe(extract);
  try {
    for await (const entry of extract) {
      const path = entry.header.name.replace(/^\.\//, "");
      if (entry.header.type !== "file" || path === "config.json") {
        entry.resume();
        continue;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      const bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      yield { path, bytes, text: decoder.decode(bytes) };
    }
  } finally {
    // An early `break` by the consumer must not leave the file open.
    source.destroy();
    gunzip.destroy();
    extract.destroy();
  }
}

let loaded: Promise<readonly CorpusFile[]> | undefined;

/** All files in memory (≈ 400 MB with bytes and text), read once per process and shared by every caller. */
export function loadCorpus2020(): Promise<readonly CorpusFile[]> {
  loaded ??= (async () => {
    const files: CorpusFile[] = [];
    for await (const file of readCorpus2020()) files.push(file);
    return files;
  })();
  return loaded;
}

/** One file by index path, streaming until it is found (for benchmarks and tests that need a single real file). */
export async function readCorpus2020File(path: string): Promise<CorpusFile> {
  for await (const file of readCorpus2020()) {
    if (file.path === path) return file;
  }
  throw new Error(`${path} is not in the crates.io 2020 index fixture`);
}

/** A corpus file dated as if published recently, in the shape crates.io writes files now. */
export interface DatedFile {
  /** The file with `,"pubtime":"…"` before each line's closing `}`. */
  readonly text: string;
  /** The publish time of each line, in file order. */
  readonly times: readonly UnixSeconds[];
}

/**
 * Synthetic publish times for a 2020 file's lines (which carry none): every version two days after the previous one,
 * the newest an hour before `now`, so a /7d/ window hides the last few and a filter has lines to drop.
 */
export function withSyntheticPubtimes(text: string, now: UnixSeconds): DatedFile {
  const lines = text.split(/(?<=\n)/);
  const times = lines.map((_, i) => now - 3_600 - (lines.length - 1 - i) * 2 * 86_400);
  const dated = lines
    .map((line, i) => {
      const close = line.lastIndexOf("}");
      return `${line.slice(0, close)},"pubtime":"${formatRfc3339(times[i] as number)}"${line.slice(close)}`;
    })
    .join("");
  return { text: dated, times };
}
