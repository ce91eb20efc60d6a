/**
 * A strong entity tag for a filtered body. It must change whenever the bytes sent change, or cargo would keep a
 * stale list (reusing upstream's tag would freeze its cache).
 *
 * When upstream's own tag is strong it already names the upstream bytes exactly, and the filtered body is those bytes
 * minus the hidden lines: so the tag is a hash of upstream's tag, the number of lines and which were hidden, a few
 * bytes to hash instead of the whole body (hashing a megabyte costs tens of milliseconds in the Compute engine), and
 * as many as there are hidden lines, not lines. Equal inputs give equal bodies, so equal tags always mean equal bytes.
 * Without a strong upstream tag, the body itself is hashed.
 */
export async function filteredEtag(
  upstreamEtag: string | null,
  lines: number,
  hiddenLines: readonly number[],
  body: () => Uint8Array<ArrayBuffer>,
): Promise<string> {
  if (upstreamEtag === null || !/^"[^"]*"$/.test(upstreamEtag)) return strongEtagFor(body());
  return strongEtagFor(new TextEncoder().encode(`${upstreamEtag}\n${lines}\n${hiddenLines.join(",")}`));
}

/** A strong tag from a hash of `bytes`: 128 bits of SHA-256, plenty to tell representations of one URL apart. */
export async function strongEtagFor(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  let hex = "";
  for (let i = 0; i < 16; i++) hex += (digest[i] as number).toString(16).padStart(2, "0");
  return `"${hex}"`;
}
