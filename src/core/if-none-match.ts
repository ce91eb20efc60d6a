/**
 * RFC 9110 §13.1.2: If-None-Match is false (send 304 for GET/HEAD) when the header is `*` or lists a tag that matches
 * the current one by weak comparison (the opaque tags are equal, `W/` ignored).
 */
export function ifNoneMatchHolds(header: string | null, currentEtag: string): boolean {
  if (header === null) return true;
  const trimmed = header.trim();
  if (trimmed === "*") return false;
  const current = opaqueTag(currentEtag);
  for (const candidate of trimmed.split(",")) {
    if (opaqueTag(candidate.trim()) === current) return false;
  }
  return true;
}

function opaqueTag(tag: string): string {
  return tag.startsWith("W/") ? tag.slice(2) : tag;
}
