import type { KvBatchLine } from "./kv-batch-line.ts";

/** Bounds of one batch request; a batch closes when the next line would cross either. */
export interface KvBatchLimits {
  readonly maxLines: number;
  /** Body bytes (lines and their newlines). A single line larger than this still goes, alone. */
  readonly maxBytes: number;
}

/**
 * 5,000 lines or 8 MiB per request. A full push of 250,000 crates is then ~50 requests, well inside Fastly's 1,000
 * writes per hour, while one failed request costs little to repeat (an average record is ~0.5 KB of base64, so the
 * line cap is usually the one reached; a few crates with thousands of versions approach 100 KB each).
 */
export const DEFAULT_KV_BATCH_LIMITS: KvBatchLimits = { maxLines: 5_000, maxBytes: 8 * 1024 * 1024 };

/** Groups lines into batches within `limits`, lazily, keeping their order. */
export function* chunkKvBatches<L extends KvBatchLine>(lines: Iterable<L>, limits: KvBatchLimits): Generator<L[]> {
  let batch: L[] = [];
  let bytes = 0;
  for (const line of lines) {
    // Lines are ASCII (crate-name keys, base64 values), so string length is the byte count.
    const size = line.text.length + 1;
    if (batch.length > 0 && (batch.length >= limits.maxLines || bytes + size > limits.maxBytes)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(line);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}
