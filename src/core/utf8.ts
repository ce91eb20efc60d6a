/** The WHATWG constructor with its options; the Compute SDK's `.d.ts` declares only the label. */
type StrictTextDecoder = new (
  label: "utf-8",
  options: { fatal: boolean; ignoreBOM: boolean },
) => { decode(input: ArrayBuffer | ArrayBufferView): string };

/**
 * Decodes a body as UTF-8, refusing invalid bytes (fatal: such a body cannot be filtered faithfully) and keeping a
 * leading BOM (ignoreBOM), so that re-encoding a kept line gives back exactly the bytes that came. Throws TypeError.
 */
export function decodeUtf8Exactly(bytes: ArrayBuffer | ArrayBufferView): string {
  return new (TextDecoder as unknown as StrictTextDecoder)("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
}
