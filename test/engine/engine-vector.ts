/**
 * What the build script (Node) hands to the in-engine self-test: index files, the circumstances to decide them in,
 * and what must come out. Plain data only, because it is written into a generated module and read by the engine.
 */
export interface EngineVector {
  readonly name: string;
  /** Lowercased crate name (exceptions name crates). */
  readonly crate: string;
  /** The index file as the proxy would decode it. */
  readonly text: string;
  readonly window: { readonly label: string; readonly seconds: number };
  readonly now: number;
  /** The KV value for the crate, encoded with the core's record codec, or `null` when the store has none. */
  readonly record: string | null;
  readonly prePubtimeInference: boolean;
  /** The operator's policy as the KV store holds it (`encodePolicy`), or `null` for the defaults. */
  readonly policy: string | null;
  readonly expected: ExpectedOutcome;
  /** Timed inside the engine (core vs. a JSON.parse-per-line filter) after every vector passed. */
  readonly bench?: boolean;
  /** One of the ordinary files timed together, as a whole, for the typical cost of a request. */
  readonly benchTypical?: boolean;
}

export interface ExpectedOutcome {
  /** Per line: `visible` or the hidden reason. */
  readonly reasons: readonly string[];
  /** The filtered body, literally; big files give its `etag` and length instead. */
  readonly body?: string;
  readonly bodyLength?: number;
  /** `strongEtagFor` of the body as Node computed it: also proves `crypto.subtle` agrees in the engine. */
  readonly etag?: string;
  readonly nextVisibleAt?: number | null;
  /** Node's `scanIndexFile` result as JSON (without the text): every field the core reads, line by line. */
  readonly scan?: string;
  /** Node's `filterIndexFile` result as JSON (without the body): verdicts, counts, next-visible moment. */
  readonly filter?: string;
}

export interface EngineSelfTestInput {
  readonly vectors: readonly EngineVector[];
  /** Timing passes per round (at least this many, and at least `minBenchMs` of work); the best of 3 rounds counts. */
  readonly benchPasses: number;
  readonly minBenchMs: number;
}

/** Lines the engine prints for the build script to read. */
export const SELFTEST_PASSED = "ENGINE-SELFTEST passed";
export const SELFTEST_FAILED = "ENGINE-SELFTEST FAILED";
export const ENGINE_BENCH = "ENGINE-BENCH";

/** One timed file, as printed on the `ENGINE-BENCH` line. Times are milliseconds per pass. */
export interface EngineBenchFigure {
  readonly name: string;
  readonly bytes: number;
  readonly lines: number;
  readonly kept: number;
  readonly passes: number;
  /** UTF-8 decode of the upstream bytes alone (part of both filters below). */
  readonly decodeMs: number;
  /** The core's `scanIndexFile` alone, on decoded text. */
  readonly scanMs: number;
  /** The core's `filterIndexFile` alone (decisions, kept slices, join), on a scanned file. */
  readonly filterMs: number;
  /**
   * For a body the edge filters by its plain lines (ENGINE_PLAIN_LINES: big, of many lines): `filterWithPlainLines`
   * alone on decoded text, in place of scan and filter; null for other bodies, or when it declines the file.
   */
  readonly plainLinesMs: number | null;
  /**
   * The same body decided again by a later request, from the line shapes the first one kept (read back from their
   * kept text) and the bytes, without decoding them: null where `plainLinesMs` is, or for a body that is not ASCII.
   */
  readonly keptShapesMs: number | null;
  /**
   * Upstream bytes → the bytes a filtered 200 sends, as the edge makes them: decode, record decode, then the plain
   * lines found in place (big bodies) or scan and filter, body bytes (best round).
   */
  readonly coreMs: number;
  /** The same with `JSON.parse` per line: decode, record decode, parse, decide, join, encode. */
  readonly jsonParseMs: number;
  /** The median over interleaved rounds of (core ÷ JSON.parse filter) timed back to back in one round. */
  readonly ratio: number;
  /** The lowest and highest of those rounds' ratios. */
  readonly ratioRange: readonly [number, number];
  /** `filteredEtag` with a strong upstream tag: what the proxy hashes when upstream has one (crates.io does). */
  readonly etagMs: number;
  /** `strongEtagFor` of the whole body (SHA-256 through crypto.subtle): the fallback without a strong upstream tag. */
  readonly bodyHashEtagMs: number;
  /** coreMs + etagMs: the CPU a filtered 200 costs beyond I/O, as the proxy does it. */
  readonly requestMs: number;
  /** Whether both filters produced the same body. */
  readonly agrees: boolean;
}

/** Ordinary files timed as a set: what a typical request costs, where lines are many and short. */
export interface EngineTypicalBench {
  readonly files: number;
  readonly lines: number;
  readonly bytes: number;
  /** All files, upstream bytes → bytes sent, best round. */
  readonly coreMs: number;
  readonly jsonParseMs: number;
  /** Median over rounds of core ÷ JSON.parse filter timed back to back, and the rounds' range. */
  readonly ratio: number;
  readonly ratioRange: readonly [number, number];
}

export interface EngineBench {
  readonly runtime: string;
  readonly files: readonly EngineBenchFigure[];
  readonly typical?: EngineTypicalBench;
}
