import { promisify } from "node:util";
import { brotliDecompress, gunzip, inflate, type ZlibOptions } from "node:zlib";

/** Largest body a decoder may produce: far above the biggest index file, far below what a gzip bomb would need. */
export const MAX_DECODED_BYTES = 64 * 1024 * 1024;

type Decoder = (body: Buffer, options: ZlibOptions) => Promise<Buffer>;

const DECODERS: ReadonlyMap<string, Decoder> = new Map([
  ["gzip", promisify(gunzip)],
  ["x-gzip", promisify(gunzip)],
  ["deflate", promisify(inflate)],
  ["br", promisify(brotliDecompress)],
]);

/**
 * Undoes a `Content-Encoding` (RFC 9110 §8.4: codings listed in the order applied, so undone last-first). Returns
 * `null` when some coding is not one this home can decode: the caller then leaves the body and header as they came,
 * and the core refuses them rather than filtering bytes it cannot read.
 */
export async function decodeContent(
  contentEncoding: string | null,
  body: Buffer,
  maxDecodedBytes: number = MAX_DECODED_BYTES,
): Promise<Buffer | null> {
  const codings = (contentEncoding ?? "")
    .split(",")
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== "" && coding !== "identity");
  const decoders = codings.map((coding) => DECODERS.get(coding));
  if (decoders.some((decoder) => decoder === undefined)) return null;
  let decoded = body;
  for (const decoder of decoders.reverse()) {
    decoded = await (decoder as Decoder)(decoded, { maxOutputLength: maxDecodedBytes });
  }
  return decoded;
}
