/**
 * A strong entity tag for a filtered body: a hash of exactly the bytes sent, so the tag changes whenever the visible
 * set changes and a client never keeps a stale list (reusing upstream's tag would freeze cargo's cache).
 */
export async function strongEtagFor(body: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
  let hex = "";
  // 128 bits are plenty to tell representations of one URL apart.
  for (let i = 0; i < 16; i++) hex += (digest[i] as number).toString(16).padStart(2, "0");
  return `"${hex}"`;
}
