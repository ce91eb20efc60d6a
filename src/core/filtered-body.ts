import type { ScannedIndexFile } from "./index-file.ts";
import type { FilteredIndexFile } from "./index-filter.ts";

/**
 * The bytes of a filtered body, made with as little work as possible: upstream's own bytes when nothing was hidden;
 * byte slices of them when the text is ASCII (character offsets are then byte offsets); otherwise the kept text
 * encoded. All three give exactly the kept lines' original bytes.
 */
export function filteredBodyBytes(upstream: Uint8Array<ArrayBuffer>, file: ScannedIndexFile, filtered: FilteredIndexFile): Uint8Array<ArrayBuffer> {
  if (filtered.unchanged) return upstream;
  if (file.text.length !== upstream.byteLength) return new TextEncoder().encode(filtered.body);
  let length = 0;
  file.lines.forEach((line, index) => {
    if (filtered.verdicts[index]?.visible) length += line.end - line.start;
  });
  const out = new Uint8Array(length);
  let at = 0;
  file.lines.forEach((line, index) => {
    if (!filtered.verdicts[index]?.visible) return;
    out.set(upstream.subarray(line.start, line.end), at);
    at += line.end - line.start;
  });
  return out;
}
