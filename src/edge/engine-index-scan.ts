import type { IndexScanOptions } from "../core/index-file.ts";

/**
 * How the edge reads index lines. The Compute engine interprets JavaScript (StarlingMonkey, no JIT): each call costs
 * about 0.3 µs, so one JSON.parse of a line's tail beats reading it key by key (a crates.io line of 2026: ~3 µs
 * instead of ~20 µs, measured in the engine). The in-engine self-test and benchmark use this same value.
 */
export const ENGINE_INDEX_SCAN: IndexScanOptions = { tailReader: "json-parse" };
