/**
 * How fast the core filters real index files, against the obvious alternative (JSON.parse every line) and against
 * what no filter can beat (decoding the bytes, splitting the lines). All variants run interleaved in one process over
 * the whole 2020 crates.io index held in memory, so machine noise hits them alike.
 *
 * Run: `npm run bench` (all) or `node bin/run-ts.js bench/scanner.bench.ts`. Env: BENCH_SCANNER_ROUNDS (default 7).
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { type IndexLine, type ScannedIndexFile, scanIndexFile } from "../src/core/index-file.ts";
import { filterIndexFile } from "../src/core/index-filter.ts";
import { defaultRules } from "../src/core/policy.ts";
import type { CrateRecord } from "../src/core/publish-times.ts";
import { parsePubtime, type UnixSeconds } from "../src/core/time.ts";
import {
  CORPUS_2020_ARCHIVE,
  CORPUS_2020_MISSING,
  type CorpusFile,
  corpusAvailable,
  loadCorpus2020,
} from "../test/support/corpus-2020.ts";
import { indexLine } from "../test/support/in-memory-ports.ts";
import { windowOf } from "../test/support/window-of.ts";
import { median } from "./support/median.ts";
import { printBenchSkipped, printBenchSummary } from "./support/summary.ts";

const BENCH = "scanner";
const ROUNDS = Number(process.env.BENCH_SCANNER_ROUNDS ?? 7);
/** The ratio the fast scanner exists for; below it, a plain JSON.parse filter would be the simpler choice. */
const TARGET_SPEEDUP = 5;
/** When the fixture's index was taken; event times are shifted so that this moment becomes "now". */
const SNAPSHOT_TAKEN_AT: UnixSeconds = Date.parse("2020-03-25T20:09:32Z") / 1000;

if (!corpusAvailable()) {
  printBenchSkipped(BENCH, CORPUS_2020_MISSING);
} else {
  await run();
}

async function run(): Promise<void> {
  const loadStart = performance.now();
  const files = await loadCorpus2020();
  const bytes = files.reduce((sum, file) => sum + file.bytes.byteLength, 0);
  const now: UnixSeconds = Math.floor(Date.now() / 1000);
  const records = publishTimesFromEvents(now);
  const window = windowOf("7d");
  // The rules the proxy applies in front of crates.io. The 2020 lines have no pubtime: times come from the replayed
  // events (the last five months) and, for older versions, from the pre-pubtime inference, so the decisions are a
  // real mix of visible, too young and yanked.
  const rules = defaultRules(true);
  console.log(
    `${BENCH}: ${files.length} files, ${formatCount(bytes)} bytes loaded in ${((performance.now() - loadStart) / 1000).toFixed(1)} s`,
  );

  const fast = (file: CorpusFile) =>
    filterIndexFile(crateOf(file), scanIndexFile(file.text), recordFor(records, file), window, now, rules);
  const naive = (file: CorpusFile) =>
    filterIndexFile(crateOf(file), scanWithJsonParse(file.text), recordFor(records, file), window, now, rules);
  const lines = checkSameDecisions(files, fast, naive);

  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const variants: Record<string, (file: CorpusFile) => number> = {
    "scanIndexFile + filterIndexFile": (file) => fast(file).kept,
    "JSON.parse per line + filterIndexFile": (file) => naive(file).kept,
    "UTF-8 decode": (file) => decoder.decode(file.bytes).length,
    'split("\\n")': (file) => file.text.split("\n").length,
  };
  const names = Object.keys(variants);
  const wall: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  // CPU time as well: on a shared machine, other processes stretch wall time but not this process's CPU time.
  const cpu: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  let sink = 0;
  // Round 0 warms the JIT and is not counted; each later round rotates the order so no variant always runs first.
  for (let round = 0; round <= ROUNDS; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length] as string);
    for (const name of order) {
      const variant = variants[name] as (file: CorpusFile) => number;
      const cpuStart = process.cpuUsage();
      const start = performance.now();
      for (const file of files) sink += variant(file);
      const elapsed = (performance.now() - start) / 1000;
      const used = process.cpuUsage(cpuStart);
      if (round > 0) {
        wall[name]?.push(elapsed);
        cpu[name]?.push((used.user + used.system) / 1e6);
      }
    }
  }

  const wallOf = (name: string) => median(wall[name] as number[]);
  const cpuOf = (name: string) => median(cpu[name] as number[]);
  const [scanner, naiveName, decode, split] = names as [string, string, string, string];
  const speedup = wallOf(naiveName) / wallOf(scanner);
  const cpuSpeedup = cpuOf(naiveName) / cpuOf(scanner);
  console.log(
    `\n${BENCH}: whole 2020 index (${formatCount(bytes)} bytes, ${formatCount(lines)} lines), medians of ${ROUNDS} interleaved rounds`,
  );
  console.log("| variant | wall s | MB/s | lines/s | wall vs scanner | CPU s | CPU vs scanner | wall s per round |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
  for (const name of names) {
    const s = wallOf(name);
    const runs = (wall[name] as number[]).map((x) => x.toFixed(3)).join(", ");
    console.log(
      `| ${name} | ${s.toFixed(3)} | ${(bytes / 1e6 / s).toFixed(0)} | ${formatCount(lines / s)} | ${(s / wallOf(scanner)).toFixed(2)}× ` +
        `| ${cpuOf(name).toFixed(3)} | ${(cpuOf(name) / cpuOf(scanner)).toFixed(2)}× | ${runs} |`,
    );
  }
  console.log(`(checksum ${sink}, so no variant is optimised away)`);

  const linearRatio = linearScanRatio();
  printBenchSummary({
    bench: BENCH,
    figures: [
      {
        figure: "scan + filter, whole 2020 index",
        value: `${(bytes / 1e6 / wallOf(scanner)).toFixed(0)} MB/s, ${formatCount(lines / wallOf(scanner))} lines/s`,
      },
      { figure: "JSON.parse-per-line filter", value: `${(bytes / 1e6 / wallOf(naiveName)).toFixed(0)} MB/s` },
      {
        figure: "speed-up over JSON.parse per line (wall)",
        value: `${speedup.toFixed(2)}×`,
        target: `≥ ${TARGET_SPEEDUP}×`,
        met: speedup >= TARGET_SPEEDUP,
      },
      { figure: "speed-up over JSON.parse per line (CPU)", value: `${cpuSpeedup.toFixed(2)}×` },
      { figure: "scan + filter time ÷ UTF-8 decode time", value: `${(wallOf(scanner) / wallOf(decode)).toFixed(2)}×` },
      { figure: 'scan + filter time ÷ split("\\n") time', value: `${(wallOf(scanner) / wallOf(split)).toFixed(2)}×` },
      {
        figure: "scan time, 20× the lines without pubtime",
        value: `${linearRatio.toFixed(1)}×`,
        target: "< 100× (linear is 20×)",
        met: linearRatio < 100,
      },
    ],
  });
}

/**
 * What a straightforward filter does: split the lines, JSON.parse each, read the three fields, and hand the same
 * lines to the same policy. Only the reading differs from `scanIndexFile`.
 */
function scanWithJsonParse(text: string): ScannedIndexFile {
  const lines: IndexLine[] = [];
  let withoutPubtime = 0;
  let withPubtimeKey = 0;
  let start = 0;
  const pieces = text.split("\n");
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i] as string;
    const last = i === pieces.length - 1;
    if (last && piece === "") break;
    const end = start + piece.length + (last ? 0 : 1);
    let line: IndexLine = { start, end, version: null, yanked: false, pubtime: null, hasPubtimeKey: false };
    try {
      const entry = JSON.parse(piece) as Record<string, unknown> | null;
      if (typeof entry === "object" && entry !== null && !Array.isArray(entry)) {
        const hasPubtimeKey = Object.hasOwn(entry, "pubtime");
        const yanked = entry.yanked ?? false;
        const readable = typeof entry.vers === "string" && typeof yanked === "boolean";
        const pubtime = readable && typeof entry.pubtime === "string" ? parsePubtime(entry.pubtime) : null;
        line = {
          start,
          end,
          version: readable ? (entry.vers as string) : null,
          yanked: readable && yanked === true,
          pubtime,
          hasPubtimeKey,
        };
      }
    } catch {
      line = { ...line, hasPubtimeKey: piece.includes('"pubtime"') };
    }
    if (line.pubtime === null) withoutPubtime++;
    if (line.hasPubtimeKey) withPubtimeKey++;
    lines.push(line);
    start = end;
  }
  return {
    text,
    textLength: text.length,
    lines,
    linesWithoutPubtime: withoutPubtime,
    linesWithPubtimeKey: withPubtimeKey,
  };
}

/** Both filters must answer alike on every file before their speeds mean anything. Returns the number of lines. */
function checkSameDecisions(
  files: readonly CorpusFile[],
  fast: (file: CorpusFile) => ReturnType<typeof filterIndexFile>,
  naive: (file: CorpusFile) => ReturnType<typeof filterIndexFile>,
): number {
  let lines = 0;
  const hidden = { "too-young": 0, yanked: 0, "unknown-publish-time": 0, "unreadable-line": 0 };
  for (const file of files) {
    const a = fast(file);
    const b = naive(file);
    if (a.body !== b.body || a.kept !== b.kept || JSON.stringify(a.hidden) !== JSON.stringify(b.hidden)) {
      throw new Error(`the two filters disagree on ${file.path}: scanner kept ${a.kept}, JSON.parse kept ${b.kept}`);
    }
    lines += a.verdicts.length;
    for (const [reason, count] of Object.entries(a.hidden)) hidden[reason as keyof typeof hidden] += count;
  }
  console.log(`${BENCH}: both filters agree on every file; hidden under /7d/: ${JSON.stringify(hidden)}`);
  return lines;
}

/** Publish times from the fixture's event log, shifted so the snapshot moment is `now` (the last five months). */
function publishTimesFromEvents(now: UnixSeconds): Map<string, CrateRecord> {
  const shift = now - SNAPSHOT_TAKEN_AT;
  const events = readFileSync(join(dirname(CORPUS_2020_ARCHIVE), "events.csv"), "utf8");
  const times = new Map<string, Map<string, UnixSeconds>>();
  for (const row of events.split("\n").slice(1)) {
    const [time, event, crate, version] = row.split(",");
    if (event !== "publish" || time === undefined || crate === undefined || version === undefined) continue;
    const name = crate.toLowerCase();
    let versions = times.get(name);
    if (versions === undefined) times.set(name, (versions = new Map()));
    versions.set(version, Date.parse(time) / 1000 + shift);
  }
  return new Map([...times].map(([crate, versions]) => [crate, { crate, versions }]));
}

function crateOf(file: CorpusFile): string {
  return file.path.slice(file.path.lastIndexOf("/") + 1);
}

function recordFor(records: ReadonlyMap<string, CrateRecord>, file: CorpusFile): CrateRecord | null {
  return records.get(crateOf(file)) ?? null;
}

/**
 * A file without pubtime costs one search per occurrence, not per line: 20× the lines (40,000 against 2,000) should
 * cost about 20× the time, far below the 400× a rescan per line would. The median of ROUNDS ratios.
 */
function linearScanRatio(): number {
  const line = indexLine({ name: "foo", vers: "1.0.0" });
  const small = line.repeat(2_000);
  const large = line.repeat(40_000);
  let scanned = 0;
  const time = (text: string) => {
    const started = performance.now();
    for (let i = 0; i < 3; i++) scanned += scanIndexFile(text).lines.length;
    return performance.now() - started;
  };
  time(small);
  if (scanned === 0) throw new Error("nothing scanned");
  return median(Array.from({ length: ROUNDS }, () => time(large) / Math.max(time(small), 0.5)));
}

function formatCount(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(0);
}
