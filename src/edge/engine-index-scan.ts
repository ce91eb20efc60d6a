import type { IndexScanOptions } from "../core/index-file.ts";
import { decodeUtf8ExactlyByResponse } from "../core/utf8.ts";

/**
 * How the edge reads index lines. The Compute engine interprets JavaScript (StarlingMonkey, no JIT): each call costs
 * about 0.3 µs while JSON.parse runs natively at ~15 ns a character. So one JSON.parse of a line's tail beats reading
 * it key by key (a crates.io line of 2026: ~3 µs instead of ~20 µs), and a line under ~600 characters is parsed
 * whole faster than its fields can be found (a file of 650 such lines: 9.1 → 6.6–7.2 ms). Measured in the engine,
 * 2026-11-22; the in-engine self-test and benchmark use this same value.
 */
export const ENGINE_INDEX_SCAN: IndexScanOptions = { tailReader: "json-parse", parseLinesShorterThan: 600 };

/**
 * A body of more than `fromLines` lines that no earlier request scanned is filtered by finding its plain lines in place
 * (plain-line-filter.ts), not by reading every line: in the engine a line read in full costs ~12–15 µs, mostly in the
 * strings and the object it makes, so reading 1,200 lines already takes ~15–20 ms of Fastly's 50 ms per request, and
 * 4,000 lines more than all of it; a plain line found in place costs a few searches and comparisons. Such a body's scan
 * is not kept (what the plain lines find depends on the window and the record), so every request for it that finds no
 * answer cached reads it this way. Lines are counted only in bodies of `fromBytes` or more (~1,000 lines of crates.io's
 * shortest).
 */
export const ENGINE_PLAIN_LINES = { fromBytes: 256 * 1024, fromLines: 1_200 } as const;

/**
 * How the edge decodes an upstream body: through `Response.text()` where that is exact (an ASCII body, as nearly every
 * index file is), which in the engine makes the string without TextDecoder's UTF-16 buffer of twice the body's size
 * (see `decodeUtf8ExactlyByResponse`).
 */
export const ENGINE_DECODE_BODY = decodeUtf8ExactlyByResponse;
