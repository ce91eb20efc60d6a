import type { IndexLine, ScannedIndexFile } from "./index-file.ts";
import type { FilteredIndexFile } from "./index-filter.ts";

/**
 * The bytes of a filtered body, made with as little work as possible: upstream's own bytes when nothing was hidden;
 * byte copies of them when the text is ASCII (character offsets are then byte offsets); otherwise the kept text
 * encoded. All three give exactly the kept lines' original bytes.
 *
 * The ASCII copy goes run by run (consecutive kept lines are one copy: young versions sit together at the end) through
 * plain `Uint8Array` views: measured in the Compute engine, `subarray` per line cost twice the copying itself.
 */
export function filteredBodyBytes(
  upstream: Uint8Array<ArrayBuffer>,
  file: ScannedIndexFile,
  filtered: FilteredIndexFile,
): Uint8Array<ArrayBuffer> {
  if (filtered.unchanged) return upstream;
  if (file.text.length !== upstream.byteLength) return new TextEncoder().encode(filtered.body);
  const lines = file.lines;
  const verdicts = filtered.verdicts;
  const runs: number[] = [];
  let length = 0;
  let index = 0;
  while (index < lines.length) {
    if (verdicts[index]?.visible !== true) {
      index++;
      continue;
    }
    const start = (lines[index] as IndexLine).start;
    while (index < lines.length && verdicts[index]?.visible === true) index++;
    const end = (lines[index - 1] as IndexLine).end;
    runs.push(start, end);
    length += end - start;
  }
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
