/**
 * Builds and runs the in-engine self-test: computes vectors in Node with the core, writes them into a generated
 * module, and compiles test/engine/selftest.ts with js-compute-runtime — whose Wizer step runs it inside the real
 * Compute engine, so a mismatch fails the build. Also collects the engine timings it prints.
 *
 *   npx tsx test/engine/build-selftest.ts [--inject-wrong-vector] [--no-corpus] [--no-bench] [--out-dir DIR]
 *
 * `ENGINE_SELFTEST_INJECT_WRONG=1` does what `--inject-wrong-vector` does. Exits with the engine build's exit code.
 */
import { spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { strongEtagFor } from "../../src/core/etag.ts";
import { encodeCrateRecord } from "../../src/core/publish-times.ts";
import { ENGINE_INDEX_SCAN } from "../../src/edge/engine-index-scan.ts";
import { CORPUS_2020_MISSING, corpusAvailable, readCorpus2020, withSyntheticPubtimes } from "../support/corpus-2020.ts";
import { syntheticIndexFile } from "../support/synthetic-index-file.ts";
import { decideVector, filterJson, reasonsOf, scanJson } from "./decide-vector.ts";
import { EDGE_CASE_INPUTS, type VectorInput } from "./edge-case-inputs.ts";
import {
  ENGINE_BENCH,
  type EngineBench,
  type EngineSelfTestInput,
  type EngineVector,
  SELFTEST_PASSED,
} from "./engine-vector.ts";
import { DELIBERATELY_WRONG_VECTOR, HAND_WRITTEN_VECTORS } from "./hand-written-vectors.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, "../..");
const COMPILER = resolve(REPO, "node_modules/.bin/js-compute-runtime");
export const DEFAULT_OUT_DIR = resolve(HERE, "generated");

/** The two real files the issue names: many long lines, and the corpus's largest file. */
export const WEB_SYS = "we/b-/web-sys";
const CORPUS_SAMPLE_EVERY = 250;
/** Advisories for the benchmark's crate with the most versions: four `patched` requirements as RustSec writes them. */
export const BENCH_ADVISORIES = [
  { id: "RUSTSEC-2020-0001", patched: [">= 600.0.0", "^500.0.3"] },
  { id: "RUSTSEC-2021-0002", patched: [">= 610.0.0, < 620.0.0"] },
  { id: "RUSTSEC-2022-0003", patched: [">= 640.0.0"] },
];
/** The typical-request benchmark's files: every 100th of the corpus (378 files), in the shape crates.io writes now. */
const TYPICAL_SAMPLE_EVERY = 100;
/**
 * The largest files crates.io serves, generated in its 2026 line shape (the 2020 corpus has none this big): the cold
 * path of the edge-cold-path benchmark, timed here in the engine Fastly runs, without the local host around it.
 */
export const BIG_SYNTHETIC_FILES = [
  { crate: "aws-sdk-bench", versions: 1_500, depsPerLine: 30 },
  { crate: "rustc-ap-bench", versions: 4_000, depsPerLine: 4 },
] as const;
/** Above this, a vector's expected body is carried as its hash and length, to keep the generated module small. */
const LITERAL_BODY_LIMIT = 64 * 1024;

export interface EngineSelfTestOptions {
  readonly outDir?: string;
  /** Add a vector with a wrong expectation: the build must then fail. */
  readonly injectWrongVector?: boolean;
  /** Use the 2020 crates.io fixture when present (default true). */
  readonly corpus?: boolean;
  /**
   * Time web-sys, the corpus's largest file and its crate with the most versions (these need the corpus), and the big
   * generated files (default true).
   */
  readonly bench?: boolean;
  /** Also check a sample of the corpus (default true); a bench leaves it out to keep the engine's heap small. */
  readonly corpusSample?: boolean;
  /** Passes per timing round (default 20) and the least time a round takes (default 100 ms). */
  readonly benchPasses?: number;
  readonly minBenchMs?: number;
  /** Keep the compiled self-test (a Wizer snapshot of the whole heap: hundreds of MB); deleted by default. */
  readonly keepWasm?: boolean;
  /** Print progress and the compiler's output as it comes. */
  readonly echo?: boolean;
}

export interface EngineSelfTestResult {
  readonly exitCode: number;
  readonly output: string;
  readonly vectorCount: number;
  /** From the engine's `ENGINE-SELFTEST passed N vectors` line; `null` when it did not pass. */
  readonly passedCount: number | null;
  readonly bench: EngineBench | null;
  /** Why the corpus vectors were left out, when they were. */
  readonly corpusSkipped: string | null;
}

export async function buildEngineSelfTest(options: EngineSelfTestOptions = {}): Promise<EngineSelfTestResult> {
  const outDir = options.outDir ?? DEFAULT_OUT_DIR;
  const say = (line: string) => {
    if (options.echo === true) process.stdout.write(`${line}\n`);
  };
  const vectors: EngineVector[] = [];
  vectors.push(...checkedHandWrittenVectors());
  for (const input of EDGE_CASE_INPUTS) vectors.push(await expectFromCore(input));
  let corpusSkipped: string | null = null;
  if (options.corpus === false) corpusSkipped = "corpus vectors not requested";
  else if (!corpusAvailable()) corpusSkipped = CORPUS_2020_MISSING;
  else vectors.push(...(await corpusVectors(options.bench !== false, options.corpusSample !== false)));
  if (options.bench !== false) vectors.push(...(await bigSyntheticVectors()));
  if (corpusSkipped !== null) say(`engine self-test: skipping the 2020 corpus vectors and timings: ${corpusSkipped}`);
  if (options.injectWrongVector === true) vectors.push(DELIBERATELY_WRONG_VECTOR);
  say(`engine self-test: generated ${vectors.length} vectors`);

  const input: EngineSelfTestInput = {
    vectors,
    benchPasses: options.benchPasses ?? 20,
    minBenchMs: options.minBenchMs ?? 100,
  };
  const entry = writeGenerated(outDir, input);
  const wasm = resolve(outDir, "selftest.wasm");
  const { exitCode, output } = await compile(entry, wasm, options.echo === true);
  if (options.keepWasm !== true) rmSync(wasm, { force: true });
  const passed = new RegExp(`^${SELFTEST_PASSED} (\\d+) vectors$`, "m").exec(output);
  const benchLine = new RegExp(`^${ENGINE_BENCH} (.*)$`, "m").exec(output);
  return {
    exitCode,
    output,
    vectorCount: vectors.length,
    passedCount: passed === null ? null : Number(passed[1]),
    bench: benchLine === null ? null : (JSON.parse(benchLine[1] as string) as EngineBench),
    corpusSkipped,
  };
}

/** Hand-written expectations must hold in Node too; otherwise the vector (or the core) is wrong before any engine. */
function checkedHandWrittenVectors(): EngineVector[] {
  for (const vector of HAND_WRITTEN_VECTORS) {
    const { filtered } = decideVector(vector, ENGINE_INDEX_SCAN);
    const reasons = reasonsOf(filtered);
    const problems: string[] = [];
    if (JSON.stringify(reasons) !== JSON.stringify(vector.expected.reasons))
      problems.push(`reasons ${JSON.stringify(reasons)}`);
    if (vector.expected.body !== undefined && filtered.body !== vector.expected.body)
      problems.push(`body ${JSON.stringify(filtered.body)}`);
    if (vector.expected.nextVisibleAt !== undefined && filtered.nextVisibleAt !== vector.expected.nextVisibleAt) {
      problems.push(`next visible at ${filtered.nextVisibleAt}`);
    }
    if (problems.length > 0)
      throw new Error(`hand-written vector "${vector.name}" fails in Node: ${problems.join("; ")}`);
  }
  return [...HAND_WRITTEN_VECTORS];
}

async function expectFromCore(input: VectorInput): Promise<EngineVector> {
  const { file, filtered } = decideVector(input, ENGINE_INDEX_SCAN);
  const literal = filtered.body.length <= LITERAL_BODY_LIMIT;
  return {
    ...input,
    expected: {
      reasons: reasonsOf(filtered),
      ...(literal ? { body: filtered.body } : { bodyLength: filtered.body.length }),
      etag: await strongEtagFor(new TextEncoder().encode(filtered.body)),
      nextVisibleAt: filtered.nextVisibleAt,
      scan: scanJson(file),
      filter: filterJson(filtered),
    },
  };
}

/**
 * Real files from the 2020 index: a sample of the corpus, web-sys and the largest file, and for a benchmark every
 * 100th file (only with a pubtime on every line) to time together as typical requests. Their lines have no pubtime,
 * so each file comes twice: dated by a KV record (as today's edge does for old files), and with a pubtime written into
 * every line (as crates.io writes files now). Times are synthetic: every version two days after the previous one, the
 * newest an hour old, so a /7d/ window hides the last few and the filter has lines to drop.
 */
async function corpusVectors(bench: boolean, sample: boolean): Promise<EngineVector[]> {
  const now = Date.parse("2026-09-21T12:00:00Z") / 1000;
  const window = { label: "7d", seconds: 7 * 86_400 };
  const picked: Array<{ path: string; text: string; bench: boolean; typical?: boolean; advisories?: boolean }> = [];
  let largest: { path: string; text: string; bytes: number } | null = null;
  let mostLines: { path: string; text: string; lines: number } | null = null;
  let index = 0;
  for await (const file of readCorpus2020()) {
    if (file.path === WEB_SYS) picked.push({ path: file.path, text: file.text, bench });
    else if (sample && index % CORPUS_SAMPLE_EVERY === 0)
      picked.push({ path: file.path, text: file.text, bench: false });
    else if (bench && index % TYPICAL_SAMPLE_EVERY === 0)
      picked.push({ path: file.path, text: file.text, bench: false, typical: true });
    if (largest === null || file.bytes.byteLength > largest.bytes)
      largest = { path: file.path, text: file.text, bytes: file.bytes.byteLength };
    const lineCount = file.text.split("\n").length;
    if (mostLines === null || lineCount > mostLines.lines)
      mostLines = { path: file.path, text: file.text, lines: lineCount };
    index++;
  }
  if (largest !== null && largest.path !== WEB_SYS) picked.push({ path: largest.path, text: largest.text, bench });
  // The most versions, with advisories to admit fixes from: every version is tested against every requirement.
  if (bench && mostLines !== null) picked.push({ path: mostLines.path, text: mostLines.text, bench, advisories: true });
  const vectors: EngineVector[] = [];
  for (const file of picked) {
    const lines = file.text.split(/(?<=\n)/);
    const { text: withPubtime, times } = withSyntheticPubtimes(file.text, now);
    const versions = new Map<string, number>();
    lines.forEach((line, i) => {
      // Every tenth version is missing from the record: those stay hidden as of unknown age.
      if (i % 10 !== 5) versions.set((JSON.parse(line) as { vers: string }).vers, times[i] as number);
    });
    const crate = file.path.slice(file.path.lastIndexOf("/") + 1);
    const modern = {
      name: `${file.path} (pubtime on every line)`,
      crate,
      text: withPubtime,
      window,
      now,
      record: null,
      prePubtimeInference: true,
      policy: null,
      bench: file.bench,
    };
    if (file.typical === true) {
      vectors.push(await expectFromCore({ ...modern, benchTypical: true }));
      continue;
    }
    if (file.advisories === true) {
      vectors.push(
        await expectFromCore({
          ...modern,
          name: `${file.path} (most versions; pubtime on every line; ${BENCH_ADVISORIES.length} advisories)`,
          record: encodeCrateRecord({ crate, versions: new Map(), advisories: BENCH_ADVISORIES }),
        }),
      );
      continue;
    }
    vectors.push(
      await expectFromCore({
        name: `${file.path} (2020 text, dated by a KV record)`,
        crate,
        text: file.text,
        window,
        now,
        record: encodeCrateRecord({ crate, versions }),
        prePubtimeInference: false,
        policy: null,
        bench: file.bench,
      }),
      await expectFromCore(modern),
    );
  }
  return vectors;
}

/** The big generated files, each with a KV record holding every version's time (as the ingest job writes it). */
async function bigSyntheticVectors(): Promise<EngineVector[]> {
  const now = Date.parse("2026-09-21T12:00:00Z") / 1000;
  const vectors: EngineVector[] = [];
  for (const { crate, versions, depsPerLine } of BIG_SYNTHETIC_FILES) {
    const file = syntheticIndexFile({ crate, versions, depsPerLine, now });
    const times = new Map(file.versions.map((version, index) => [version, file.times[index] as number]));
    vectors.push(
      await expectFromCore({
        name: `${crate}: ${versions} versions × ${depsPerLine} deps (generated in crates.io's 2026 shape; KV record)`,
        crate,
        text: file.text,
        window: { label: "7d", seconds: 7 * 86_400 },
        now,
        record: encodeCrateRecord({ crate, versions: times }),
        prePubtimeInference: true,
        policy: null,
        bench: true,
      }),
    );
  }
  return vectors;
}

function writeGenerated(outDir: string, input: EngineSelfTestInput): string {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    resolve(outDir, "vectors.ts"),
    `// Generated by test/engine/build-selftest.ts; do not edit.\nimport type { EngineSelfTestInput } from ${JSON.stringify(importPath(outDir, "engine-vector.ts"))};\n\nexport const input: EngineSelfTestInput = ${JSON.stringify(input)};\n`,
  );
  const entry = resolve(outDir, "entry.ts");
  writeFileSync(
    entry,
    `// Generated by test/engine/build-selftest.ts; do not edit.\nimport { runEngineSelfTest } from ${JSON.stringify(importPath(outDir, "selftest.ts"))};\nimport { input } from "./vectors.ts";\n\nawait runEngineSelfTest(input);\n`,
  );
  return entry;
}

function importPath(fromDir: string, file: string): string {
  const path = relative(fromDir, resolve(HERE, file)).split("\\").join("/");
  return path.startsWith(".") ? path : `./${path}`;
}

function compile(entry: string, wasm: string, echo: boolean): Promise<{ exitCode: number; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(COMPILER, ["--enable-experimental-top-level-await", entry, wasm], {
      cwd: REPO,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const collect = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (echo) process.stdout.write(chunk);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ exitCode: code ?? 1, output }));
  });
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const args = new Set(argv);
  const outDir = argv.indexOf("--out-dir");
  const result = await buildEngineSelfTest({
    outDir: outDir === -1 ? DEFAULT_OUT_DIR : resolve(argv[outDir + 1] ?? DEFAULT_OUT_DIR),
    injectWrongVector: args.has("--inject-wrong-vector") || process.env.ENGINE_SELFTEST_INJECT_WRONG === "1",
    corpus: !args.has("--no-corpus"),
    bench: !args.has("--no-bench"),
    echo: true,
  });
  process.exitCode = result.exitCode;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
