import type { IndexScanOptions } from "../core/index-file.ts";

/**
 * How the edge reads index lines. The Compute engine interprets JavaScript (StarlingMonkey, no JIT): each call costs
 * about 0.3 µs while JSON.parse runs natively at ~15 ns a character. So one JSON.parse of a line's tail beats reading
 * it key by key (a crates.io line of 2026: ~3 µs instead of ~20 µs), and a line under ~600 characters is parsed
 * whole faster than its fields can be found (a file of 650 such lines: 9.1 → 6.6–7.2 ms). Measured in the engine,
 * 2026-11-22; the in-engine self-test and benchmark use this same value.
 */
export const ENGINE_INDEX_SCAN: IndexScanOptions = { tailReader: "json-parse", parseLinesShorterThan: 600 };

/**
 * Bodies of at least `fromBytes` bytes that no earlier request scanned are filtered by finding their plain lines in
 * place (plain-line-filter.ts), not by reading every line: in the engine a line read in full costs ~12–15 µs, mostly
 * in the strings and the object it makes, while a plain line found in place costs a few searches and comparisons.
 * The scan is still made and kept for later requests, once the answer has gone out, for files of at most
 * `keepScanUpToLines` lines: in the engine (~25 µs a line for both readings) these fit well inside Fastly's 50 ms of
 * CPU per request; a bigger file is read in place by every request that finds no kept scan.
 */
export const ENGINE_PLAIN_LINES = { fromBytes: 256 * 1024, keepScanUpToLines: 1_200 } as const;
