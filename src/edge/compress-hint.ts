/** The header that asks Fastly to compress a response for the client, by the client's Accept-Encoding. */
export const COMPRESS_HINT = "x-compress-hint";

/**
 * Marks a response for Fastly's dynamic compression: the core sends identity bodies (it hashes exactly those bytes
 * for the ETag), and a 1 MB index file should still travel compressed.
 */
export function withCompressHint(response: Response): Response {
  response.headers.set(COMPRESS_HINT, "on");
  return response;
}
