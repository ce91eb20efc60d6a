import type { IndexLine, ScannedIndexFile } from "./index-file.ts";
import type { LineShapes } from "./plain-line-filter.ts";
import { decodeUtf8Exactly } from "./utf8.ts";

/**
 * The scan of an upstream body, kept between requests (port `ScanCache`). Reading an index file is the dear part of a
 * filtered request where JavaScript is interpreted (the edge): decoding and scanning a file of thousands of lines costs
 * tens of milliseconds, while what the scan finds (each line's offsets, version, yanked and pubtime) depends on the
 * bytes alone. Upstream names its bytes with a strong ETag, and keeps the same tag across revalidations until the file
 * changes (a publish, a yank): so every later request for those bytes, in any window, under any policy, with any
 * publish times, reads the kept scan instead.
 *
 * Kept only for ASCII bodies (character offsets are then byte offsets, and the body never needs decoding again) of at
 * least `SCAN_CACHE_MIN_BYTES`, and only under a strong ETag. A kept scan is used only if it fits the bytes at hand: the same length, every line
 * ending where a `\n` is. Anything else (another format, a tag reused for other bytes) is read as a miss.
 */
export const SCAN_CACHE_FORMAT = "scan-v1";

/**
 * Bodies smaller than this are scanned every time: a kept scan costs a cache lookup (~1 ms at the edge) and its
 * storing, more than decoding and scanning a file of a few dozen lines (measured under the local Compute host: a
 * 3-line file scans in 0.1 ms; web-sys, 1.1 MB, decodes and scans in ~6 ms against ~1.5 ms for its kept scan).
 */
export const SCAN_CACHE_MIN_BYTES = 32 * 1024;

/** The key for a body, or null when it is not kept: no name safe to key on (no strong ETag), or too small to pay. */
export function scanCacheKey(path: string, etag: string | null, byteLength: number): string | null {
  if (byteLength < SCAN_CACHE_MIN_BYTES || etag === null || !/^"[^"]*"$/.test(etag)) return null;
  return `${SCAN_CACHE_FORMAT}/${path}/${byteLength}/${etag}`;
}

/**
 * What is kept: the lines (JSON.parse rebuilds them natively, far cheaper than scanning again), and the counts. For a
 * file read by its plain lines (plain-line-filter.ts), which is never scanned whole, its line shapes instead.
 */
interface KeptScan {
  readonly lines: IndexLine[];
  readonly linesWithoutPubtime: number;
  readonly linesWithPubtimeKey: number;
}

interface KeptShapes {
  readonly shapes: LineShapes;
}

/** The value to keep for `file`, or null when it is not kept (not ASCII). */
export function encodeKeptScan(file: ScannedIndexFile, bytes: Uint8Array): string | null {
  if (file.text.length !== bytes.byteLength) return null;
  const kept: KeptScan = {
    lines: file.lines as IndexLine[],
    linesWithoutPubtime: file.linesWithoutPubtime,
    linesWithPubtimeKey: file.linesWithPubtimeKey,
  };
  return JSON.stringify(kept);
}

/** The value to keep for the line shapes of `text`, or null when they are not kept (not ASCII). */
export function encodeKeptShapes(shapes: LineShapes, text: string, bytes: Uint8Array): string | null {
  if (text.length !== bytes.byteLength) return null;
  const kept: KeptShapes = { shapes };
  return JSON.stringify(kept);
}

/**
 * What was kept for `bytes`: their scan, the line shapes of a file read by its plain lines, or null when `value` is
 * neither. Shapes are checked against the bytes as they are used (`filterWithLineShapes`), line by line.
 */
export function decodeKept(
  value: string,
  bytes: Uint8Array,
): { scan: ScannedIndexFile } | { shapes: LineShapes } | null {
  let kept: Partial<KeptScan & KeptShapes>;
  try {
    kept = JSON.parse(value) as Partial<KeptScan & KeptShapes>;
  } catch {
    return null;
  }
  const shapes = kept?.shapes;
  if (shapes !== undefined) {
    const { starts, versions, pubtimes, readings } = shapes;
    const arrays = Array.isArray(starts) && Array.isArray(versions) && Array.isArray(pubtimes);
    return arrays && (readings === undefined || Array.isArray(readings)) ? { shapes } : null;
  }
  const scan = kept === null ? null : scanOf(kept as KeptScan, bytes);
  return scan === null ? null : { scan };
}

/**
 * The kept scan of `bytes`, or null when `value` does not fit them. The text is decoded only if someone asks for it
 * (the proxy copies kept lines from the bytes and never does).
 */
export function decodeKeptScan(value: string, bytes: Uint8Array): ScannedIndexFile | null {
  const kept = decodeKept(value, bytes);
  return kept !== null && "scan" in kept ? kept.scan : null;
}

function scanOf(kept: KeptScan, bytes: Uint8Array): ScannedIndexFile | null {
  const lines = kept.lines;
  if (!Array.isArray(lines)) return null;
  // The lines must tile the bytes exactly, each ending at a newline (the last one may end the body instead).
  let at = 0;
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] as IndexLine;
    if (line.start !== at || !(line.end > at) || (bytes[line.end - 1] !== 0x0a && line.end !== bytes.byteLength))
      return null;
    at = line.end;
  }
  if (at !== bytes.byteLength) return null;
  let text: string | undefined;
  return {
    get text() {
      text ??= decodeUtf8Exactly(bytes);
      return text;
    },
    textLength: bytes.byteLength,
    lines,
    linesWithoutPubtime: kept.linesWithoutPubtime,
    linesWithPubtimeKey: kept.linesWithPubtimeKey,
  };
}
