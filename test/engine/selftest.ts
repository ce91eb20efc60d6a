/// <reference types="@fastly/js-compute" />
/**
 * Runs inside the StarlingMonkey engine that Fastly Compute runs, at build time (Wizer executes top-level code):
 * checks every vector with the core and times the filter. Any mismatch throws, which fails the build (exit 1).
 * It is compiled through a generated entry (test/engine/generated/entry.ts) that hands it the vectors, so this file
 * type-checks on a fresh clone where nothing is generated yet.
 */
import { filteredEtag, strongEtagFor } from "../../src/core/etag.ts";
import { filteredBodyBytes } from "../../src/core/filtered-body.ts";
import { scanIndexFile } from "../../src/core/index-file.ts";
import { type FilteredIndexFile, filterIndexFile } from "../../src/core/index-filter.ts";
import { filterWithLineShapes, filterWithPlainLines } from "../../src/core/plain-line-filter.ts";
import { CRATES_IO_PUBTIME_SWITCH_ON, type VisibilityRules } from "../../src/core/policy.ts";
import { decodeCrateRecord } from "../../src/core/publish-times.ts";
import { decodeKept, encodeKeptShapes } from "../../src/core/scan-cache.ts";
import { parsePubtime } from "../../src/core/time.ts";
import { decodeUtf8Exactly } from "../../src/core/utf8.ts";
import { ENGINE_INDEX_SCAN, ENGINE_PLAIN_LINES } from "../../src/edge/engine-index-scan.ts";
import { decideVector, filterJson, reasonsOf, rulesFor, scanJson } from "./decide-vector.ts";
import {
  ENGINE_BENCH,
  type EngineBench,
  type EngineBenchFigure,
  type EngineSelfTestInput,
  type EngineTypicalBench,
  type EngineVector,
  SELFTEST_FAILED,
  SELFTEST_PASSED,
} from "./engine-vector.ts";

/** The proxy's own decoder: the SDK's .d.ts omits TextDecoder's options, so the engine's honouring them is checked. */
const decodeUpstream = decodeUtf8Exactly;

export async function runEngineSelfTest(input: EngineSelfTestInput): Promise<void> {
  const failures = [...(await checkEngineFacts()), ...(await checkVectors(input.vectors))];
  if (failures.length > 0) {
    console.log(`${SELFTEST_FAILED}: ${failures.length} problem(s) in ${input.vectors.length} vectors`);
    for (const failure of failures) console.log(`  - ${failure}`);
    throw new Error(`engine self-test failed: ${failures[0]}`);
  }
  console.log(`${SELFTEST_PASSED} ${input.vectors.length} vectors`);
  const benched = input.vectors.filter((vector) => vector.bench === true);
  const typical = input.vectors.filter((vector) => vector.benchTypical === true);
  if (benched.length > 0 || typical.length > 0) {
    const files: EngineBenchFigure[] = [];
    for (const vector of benched) files.push(await benchVector(vector, input.benchPasses, input.minBenchMs));
    const bench: EngineBench = {
      runtime: "StarlingMonkey via js-compute-runtime (Fastly Compute), build time",
      files,
      ...(typical.length > 0 ? { typical: benchTypical(typical, input.benchPasses, input.minBenchMs) } : {}),
    };
    console.log(`${ENGINE_BENCH} ${JSON.stringify(bench)}`);
  }
}

/**
 * Upstream bytes → the bytes a filtered 200 sends, as the edge does it: decode, look up, then find the plain lines in
 * place (a big body) or scan and decide every line, copy.
 */
function coreFilterBytes(
  vector: EngineVector,
  bytes: Uint8Array<ArrayBuffer>,
  rules: VisibilityRules,
): Uint8Array<ArrayBuffer> {
  const text = decodeUpstream(bytes);
  const record = vector.record === null ? null : decodeCrateRecord(vector.record);
  if (usesPlainLines(bytes, text)) {
    const found = plainLinesOf(vector, text, record, rules);
    if (found !== null) return filteredBodyBytes(bytes, found.file.textLength, found.filtered);
  }
  const file = scanIndexFile(text, ENGINE_INDEX_SCAN);
  return filteredBodyBytes(
    bytes,
    file.textLength,
    filterIndexFile(vector.crate, file, record, vector.window, vector.now, rules),
  );
}

/** Whether the edge reads this body by its plain lines (ENGINE_PLAIN_LINES): big enough, and of many lines. */
function usesPlainLines(bytes: Uint8Array, text: string): boolean {
  return bytes.byteLength >= ENGINE_PLAIN_LINES.fromBytes && text.split("\n").length - 1 > ENGINE_PLAIN_LINES.fromLines;
}

function plainLinesOf(
  vector: EngineVector,
  text: string,
  record: ReturnType<typeof decodeCrateRecord> | null,
  rules: VisibilityRules,
) {
  return filterWithPlainLines(vector.crate, text, record, vector.window, vector.now, rules, ENGINE_INDEX_SCAN);
}

/** `plainLinesOf` from kept line shapes (encoded, read back) and the bytes; null when no shapes are kept (not ASCII). */
function keptShapesAnswer(
  vector: EngineVector,
  record: ReturnType<typeof decodeCrateRecord> | null,
  rules: VisibilityRules,
) {
  const bytes = new TextEncoder().encode(vector.text);
  const value = keptShapesValue(vector, bytes, record);
  const kept = value === null ? null : decodeKept(value, bytes);
  if (kept === null || !("shapes" in kept)) return null;
  const { crate, window, now } = vector;
  return filterWithLineShapes(crate, kept.shapes, { text: null, bytes }, record, window, now, rules, ENGINE_INDEX_SCAN);
}

/**
 * What a first request keeps of the body's line shapes (with the readings of the lines not plain in shape); null when
 * it keeps none (it declines the body, or the body is not ASCII).
 */
function keptShapesValue(
  vector: EngineVector,
  bytes: Uint8Array,
  record: ReturnType<typeof decodeCrateRecord> | null,
): string | null {
  const found = plainLinesOf(vector, vector.text, record, rulesFor(vector));
  return found === null ? null : encodeKeptShapes(found.shapes, vector.text, bytes);
}

/** The same with the naive filter: decode, JSON.parse every line, decide, join, encode. */
function jsonFilterBytes(vector: EngineVector, bytes: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(jsonParseFilter(decodeUpstream(bytes), vector));
}

/** Many ordinary files filtered one after the other, as many requests would: the core vs. the JSON.parse filter. */
function benchTypical(vectors: readonly EngineVector[], minPasses: number, minMs: number): EngineTypicalBench {
  const inputs = vectors.map((vector) => ({
    vector,
    bytes: new TextEncoder().encode(vector.text),
    rules: rulesFor(vector),
  }));
  const core = () => {
    let sent = 0;
    for (const { vector, bytes, rules } of inputs) sent += coreFilterBytes(vector, bytes, rules).byteLength;
    return sent;
  };
  const json = () => {
    let sent = 0;
    for (const { vector, bytes } of inputs) sent += jsonFilterBytes(vector, bytes).byteLength;
    return sent;
  };
  const { coreMs, jsonParseMs, ratio, ratioRange } = pairedRounds(core, json, minPasses, minMs);
  return {
    files: inputs.length,
    lines: vectors.reduce((sum, vector) => sum + scanIndexFile(vector.text).lines.length, 0),
    bytes: inputs.reduce((sum, { bytes }) => sum + bytes.byteLength, 0),
    coreMs: round3(coreMs),
    jsonParseMs: round3(jsonParseMs),
    ratio: round3(ratio),
    ratioRange: [round3(ratioRange[0]), round3(ratioRange[1])],
  };
}

/**
 * Interleaved rounds: each round times both filters back to back, so the ratio of a round is taken at one moment of
 * this shared machine, whose speed drifts by a third between minutes (measured). The ratio is the median of the
 * rounds' ratios; the best round of each side gives the absolute times.
 */
function pairedRounds(core: () => unknown, json: () => unknown, minPasses: number, minMs: number) {
  const coreBest = new Best();
  const jsonBest = new Best();
  const ratios: number[] = [];
  for (let round = 0; round < RATIO_ROUNDS; round++) {
    const coreRound = timed(core, minPasses, minMs);
    const jsonRound = timed(json, minPasses, minMs);
    coreBest.add(coreRound);
    jsonBest.add(jsonRound);
    ratios.push(coreRound.msPerPass / jsonRound.msPerPass);
  }
  ratios.sort((a, b) => a - b);
  return {
    coreMs: coreBest.msPerPass,
    jsonParseMs: jsonBest.msPerPass,
    ratio: ratios[Math.floor(ratios.length / 2)] as number,
    ratioRange: [ratios[0] as number, ratios[ratios.length - 1] as number] as const,
    passes: coreBest.passes,
  };
}

/** What the core assumes of the engine, beyond plain JavaScript. */
async function checkEngineFacts(): Promise<string[]> {
  const failures: string[] = [];
  try {
    decodeUpstream(new Uint8Array([0x7b, 0xff, 0x7d]));
    failures.push(
      "TextDecoder {fatal: true} accepted invalid UTF-8 (the proxy would pass U+FFFD instead of refusing the body)",
    );
  } catch (error) {
    if (!(error instanceof TypeError))
      failures.push(
        `TextDecoder {fatal: true} threw ${String(error)}, not the TypeError the Encoding standard specifies`,
      );
  }
  const withBom = decodeUpstream(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]));
  if (withBom !== "\uFEFF{}")
    failures.push(`TextDecoder {ignoreBOM: true} dropped the BOM (got ${JSON.stringify(withBom)})`);
  const abc = await strongEtagFor(new TextEncoder().encode("abc"));
  if (abc !== '"ba7816bf8f01cfea414140de5dae2223"') failures.push(`SHA-256 via crypto.subtle gave ${abc} for "abc"`);
  return failures;
}

async function checkVectors(vectors: readonly EngineVector[]): Promise<string[]> {
  const failures: string[] = [];
  for (const vector of vectors) {
    try {
      failures.push(...(await checkVector(vector)).map((problem) => `${vector.name}: ${problem}`));
    } catch (error) {
      failures.push(`${vector.name}: threw ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return failures;
}

async function checkVector(vector: EngineVector): Promise<string[]> {
  const problems: string[] = [];
  const { file, filtered } = decideVector(vector, ENGINE_INDEX_SCAN);
  // Where the plain lines can be found in place (the edge does so for big bodies), they give the same answer.
  const record = vector.record === null ? null : decodeCrateRecord(vector.record);
  const plain = plainLinesOf(vector, vector.text, record, rulesFor(vector));
  if (plain !== null && JSON.stringify(answerOf(plain.filtered)) !== JSON.stringify(answerOf(filtered))) {
    problems.push(`the plain lines found in place answer ${JSON.stringify(answerOf(plain.filtered)).slice(0, 300)}`);
  }
  // And from the line shapes a first request keeps for an ASCII body, read back by a later one from the bytes alone.
  const fromKept = plain === null ? null : keptShapesAnswer(vector, record, rulesFor(vector));
  if (fromKept !== null && JSON.stringify(answerOf(fromKept.filtered)) !== JSON.stringify(answerOf(filtered))) {
    problems.push(`the kept line shapes answer ${JSON.stringify(answerOf(fromKept.filtered)).slice(0, 300)}`);
  }
  const expected = vector.expected;
  const reasons = reasonsOf(filtered);
  if (JSON.stringify(reasons) !== JSON.stringify(expected.reasons)) {
    problems.push(`reasons ${JSON.stringify(reasons)}, expected ${JSON.stringify(expected.reasons)}`);
  }
  if (expected.body !== undefined && filtered.body !== expected.body) {
    problems.push(
      `body ${JSON.stringify(filtered.body).slice(0, 200)}, expected ${JSON.stringify(expected.body).slice(0, 200)}`,
    );
  }
  if (expected.bodyLength !== undefined && filtered.body.length !== expected.bodyLength) {
    problems.push(`body of ${filtered.body.length} characters, expected ${expected.bodyLength}`);
  }
  if (expected.etag !== undefined) {
    const etag = await strongEtagFor(new TextEncoder().encode(filtered.body));
    if (etag !== expected.etag) problems.push(`body hashes to ${etag}, expected ${expected.etag}`);
  }
  if (expected.nextVisibleAt !== undefined && filtered.nextVisibleAt !== expected.nextVisibleAt) {
    problems.push(`next visible at ${filtered.nextVisibleAt}, expected ${expected.nextVisibleAt}`);
  }
  if (expected.scan !== undefined && scanJson(file) !== expected.scan)
    problems.push("scan differs from Node's line by line");
  if (expected.filter !== undefined && filterJson(filtered) !== expected.filter)
    problems.push("verdicts differ from Node's");
  return problems;
}

/** What a filtered answer is made of: the counts, the hidden lines and where they lie, the next moments, the body. */
function answerOf(filtered: FilteredIndexFile) {
  const { kept, hidden, keptBy, hiddenLines, hiddenSpans, lineCount, nextVisibleAt, nextChangeAt, unknownAges } =
    filtered;
  return {
    kept,
    hidden,
    keptBy,
    hiddenLines,
    hiddenSpans,
    lineCount,
    nextVisibleAt,
    nextChangeAt,
    unknownAges,
    body: filtered.body,
  };
}

async function benchVector(vector: EngineVector, minPasses: number, minMs: number): Promise<EngineBenchFigure> {
  const bytes = new TextEncoder().encode(vector.text);
  const rules = rulesFor(vector);
  const coreBytes = () => coreFilterBytes(vector, bytes, rules);
  const jsonBytes = () => jsonFilterBytes(vector, bytes);
  const decoded = decodeUpstream(bytes);
  const scanned = scanIndexFile(decoded, ENGINE_INDEX_SCAN);
  const record = vector.record === null ? null : decodeCrateRecord(vector.record);
  const filtered = filterIndexFile(vector.crate, scanned, record, vector.window, vector.now, rules);
  const body = coreBytes();

  const paired = pairedRounds(coreBytes, jsonBytes, minPasses, minMs);
  const decodeMs = bestOf(() => timed(() => decodeUpstream(bytes), minPasses, minMs));
  const scanMs = bestOf(() => timed(() => scanIndexFile(decoded, ENGINE_INDEX_SCAN), minPasses, minMs));
  const filterMs = bestOf(() =>
    timed(() => filterIndexFile(vector.crate, scanned, record, vector.window, vector.now, rules), minPasses, minMs),
  );
  const plainLinesMs =
    usesPlainLines(bytes, decoded) && plainLinesOf(vector, decoded, record, rules) !== null
      ? bestOf(() => timed(() => plainLinesOf(vector, decoded, record, rules), minPasses, minMs))
      : null;
  // A later request for the same bytes: the kept shapes read back and the lines plain now found, the body copied.
  const keptValue = plainLinesMs === null ? null : keptShapesValue(vector, bytes, record);
  const fromKept = () => {
    const kept = decodeKept(keptValue as string, bytes);
    const found =
      kept === null || !("shapes" in kept)
        ? null
        : filterWithLineShapes(
            vector.crate,
            kept.shapes,
            { text: null, bytes },
            record,
            vector.window,
            vector.now,
            rules,
            ENGINE_INDEX_SCAN,
          );
    return found === null ? null : filteredBodyBytes(bytes, found.file.textLength, found.filtered);
  };
  const keptShapesMs = keptValue === null ? null : bestOf(() => timed(fromKept, minPasses, minMs));
  const keptBody = keptValue === null ? body : fromKept();
  const etag = new Best();
  const bodyHash = new Best();
  for (let round = 0; round < ROUNDS; round++) {
    etag.add(
      await timedAsync(
        () => filteredEtag('"upstream-etag"', scanned.lines.length, filtered.hiddenLines, () => body),
        minPasses,
        minMs,
      ),
    );
    bodyHash.add(await timedAsync(() => strongEtagFor(body), minPasses, minMs));
  }
  return {
    name: vector.name,
    bytes: bytes.byteLength,
    lines: scanned.lines.length,
    kept: filtered.kept,
    passes: paired.passes,
    decodeMs: round3(decodeMs),
    scanMs: round3(scanMs),
    filterMs: round3(filterMs),
    plainLinesMs: plainLinesMs === null ? null : round3(plainLinesMs),
    keptShapesMs: keptShapesMs === null ? null : round3(keptShapesMs),
    coreMs: round3(paired.coreMs),
    jsonParseMs: round3(paired.jsonParseMs),
    ratio: round3(paired.ratio),
    ratioRange: [round3(paired.ratioRange[0]), round3(paired.ratioRange[1])],
    etagMs: round3(etag.msPerPass),
    bodyHashEtagMs: round3(bodyHash.msPerPass),
    requestMs: round3(paired.coreMs + etag.msPerPass),
    agrees: sameBytes(jsonBytes(), body) && keptBody !== null && sameBytes(keptBody, body),
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

const ROUNDS = 3;
/** Rounds of the core-vs-JSON.parse comparison: odd, for a plain median. */
const RATIO_ROUNDS = 9;

type Timing = { passes: number; msPerPass: number };

class Best {
  passes = 0;
  msPerPass = Number.POSITIVE_INFINITY;
  add(timing: Timing): void {
    this.passes += timing.passes;
    this.msPerPass = Math.min(this.msPerPass, timing.msPerPass);
  }
}

function bestOf(measure: () => Timing): number {
  const best = new Best();
  for (let round = 0; round < ROUNDS; round++) best.add(measure());
  return best.msPerPass;
}

/** At least `minPasses` passes and `minMs` of work, after one warm-up pass; Date.now() is all the engine offers here. */
function timed(work: () => unknown, minPasses: number, minMs: number): Timing {
  let sink = work() === undefined ? 0 : 1;
  const start = Date.now();
  let passes = 0;
  let elapsed = 0;
  while (passes < minPasses || elapsed < minMs) {
    if (work() !== undefined) sink++;
    passes++;
    elapsed = Date.now() - start;
  }
  if (sink < 0) console.log("unreachable");
  return { passes, msPerPass: elapsed / passes };
}

async function timedAsync(work: () => Promise<unknown>, minPasses: number, minMs: number): Promise<Timing> {
  await work();
  const start = Date.now();
  let passes = 0;
  let elapsed = 0;
  while (passes < minPasses || elapsed < minMs) {
    await work();
    passes++;
    elapsed = Date.now() - start;
  }
  return { passes, msPerPass: elapsed / passes };
}

/**
 * The filter as one would write it without a scanner: JSON.parse every line, then the same decision. Independent of
 * the core's scanner on purpose, so its agreement on the big real files is a second check.
 */
function jsonParseFilter(text: string, vector: EngineVector): string {
  const record = vector.record === null ? null : decodeCrateRecord(vector.record);
  const lines: Array<{ start: number; end: number; vers: string | null; yanked: boolean; pubtime: number | null }> = [];
  let anyPubtimeKey = false;
  let start = 0;
  while (start < text.length) {
    const newline = text.indexOf("\n", start);
    const end = newline === -1 ? text.length : newline + 1;
    let vers: string | null = null;
    let yanked = false;
    let pubtime: number | null = null;
    try {
      const entry = JSON.parse(text.slice(start, newline === -1 ? text.length : newline)) as Record<string, unknown>;
      if (typeof entry === "object" && entry !== null && !Array.isArray(entry)) {
        if ("pubtime" in entry) anyPubtimeKey = true;
        if (typeof entry.vers === "string" && (entry.yanked === undefined || typeof entry.yanked === "boolean")) {
          vers = entry.vers;
          yanked = entry.yanked === true;
          pubtime = typeof entry.pubtime === "string" ? parsePubtime(entry.pubtime) : null;
        }
      }
    } catch {
      // unreadable: dropped
    }
    lines.push({ start, end, vers, yanked, pubtime });
    start = end;
  }
  const inferred = vector.prePubtimeInference && !anyPubtimeKey ? CRATES_IO_PUBTIME_SWITCH_ON : null;
  let body = "";
  for (const line of lines) {
    if (line.vers === null || line.yanked) continue;
    const stored = record?.versions.get(line.vers);
    const known =
      line.pubtime !== null && stored !== undefined
        ? Math.max(line.pubtime, stored)
        : (line.pubtime ?? stored ?? inferred);
    if (known !== null && vector.now >= known + vector.window.seconds) body += text.slice(line.start, line.end);
  }
  return body;
}

function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
