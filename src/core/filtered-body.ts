import type { FilteredIndexFile } from "./index-filter.ts";

/**
 * The bytes of a filtered body, made with as little work as possible: upstream's own bytes when nothing was hidden;
 * byte copies of them when the text is ASCII (character offsets are then byte offsets); otherwise the kept text
 * encoded. All three give exactly the kept lines' original bytes.
 *
 * The ASCII copy goes run by run, between hidden lines (few: young versions sit together at the end), through plain
 * `Uint8Array` views: measured in the Compute engine, `subarray` per line cost twice the copying itself. Its cost
 * grows with the hidden lines, not with the file's. A single run (only the last lines hidden) is not copied at all:
 * the body is a view of upstream's bytes, which nothing changes afterwards.
 */
export function filteredBodyBytes(
  upstream: Uint8Array<ArrayBuffer>,
  textLength: number,
  filtered: FilteredIndexFile,
): Uint8Array<ArrayBuffer> {
  if (filtered.unchanged) return upstream;
  if (textLength !== upstream.byteLength) return new TextEncoder().encode(filtered.body);
  const hidden = filtered.hiddenSpans;
  const runs: number[] = [];
  let length = 0;
  let from = 0;
  for (let span = 0; span < hidden.length; span += 2) {
    const start = hidden[span] as number;
    if (start > from) {
      runs.push(from, start);
      length += start - from;
    }
    from = hidden[span + 1] as number;
  }
  if (upstream.byteLength > from) {
    runs.push(from, upstream.byteLength);
    length += upstream.byteLength - from;
  }
  // One run (young versions sit together at the end, so this is the common case): a view of upstream's bytes, no copy.
  if (runs.length === 2) return new Uint8Array(upstream.buffer, upstream.byteOffset + (runs[0] as number), length);
  const out = new Uint8Array(length);
  let at = 0;
  for (let run = 0; run < runs.length; run += 2) {
    const start = runs[run] as number;
    const runLength = (runs[run + 1] as number) - start;
    out.set(new Uint8Array(upstream.buffer, upstream.byteOffset + start, runLength), at);
    at += runLength;
  }
  return out;
}
