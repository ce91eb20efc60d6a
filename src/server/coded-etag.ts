import type { ContentCoding } from "./accept-encoding.ts";

/**
 * Entity tags per content coding. A gzip body is a different representation from the identity body, so it gets its
 * own strong tag (RFC 9110 §8.8.3): the core's `"hex"` becomes `"hex-gzip"`. The core only knows identity tags, so a
 * client's coded tags are mapped back before the core compares them.
 */
const CODING_SUFFIX: Readonly<Record<ContentCoding, string>> = { gzip: "-gzip", br: "-br" };
const CODED_TAG = /^(W\/)?"([^"]*)-(gzip|br)"$/;

/** `"hex"` → `"hex-gzip"`, `W/"x"` → `W/"x-gzip"`; a malformed tag is left as is. */
export function etagForCoding(etag: string, coding: ContentCoding): string {
  if (!etag.endsWith('"') || etag.length < 2) return etag;
  return `${etag.slice(0, -1)}${CODING_SUFFIX[coding]}"`;
}

/** `"hex-gzip"` → the identity tag `"hex"` and its coding; other tags come back unchanged with coding `null`. */
export function splitCodedEtag(tag: string): { etag: string; coding: ContentCoding | null } {
  const match = CODED_TAG.exec(tag.trim());
  if (match === null) return { etag: tag.trim(), coding: null };
  return { etag: `${match[1] ?? ""}"${match[2]}"`, coding: match[3] as ContentCoding };
}

/** An If-None-Match list with every coded tag replaced by its identity tag, as the core compares them. */
export function identityIfNoneMatch(header: string): string {
  if (header.trim() === "*") return header;
  return header
    .split(",")
    .map((tag) => splitCodedEtag(tag).etag)
    .join(", ");
}

/**
 * The tag a 304 should carry: the coded form of the current identity tag that the client sent (the representation
 * it holds), preferring the coding it would get now; the identity tag when it sent that, `*`, or nothing coded.
 */
export function etagForNotModified(currentEtag: string, ifNoneMatch: string, preferred: ContentCoding | null): string {
  const held = new Set<ContentCoding>();
  for (const tag of ifNoneMatch.split(",")) {
    const { etag, coding } = splitCodedEtag(tag);
    if (coding !== null && opaque(etag) === opaque(currentEtag)) held.add(coding);
  }
  const coding = preferred !== null && held.has(preferred) ? preferred : ([...held][0] ?? null);
  return coding === null ? currentEtag : etagForCoding(currentEtag, coding);
}

/** RFC 9110 §8.8.3.2 weak comparison: `W/` does not count. */
function opaque(tag: string): string {
  return tag.startsWith("W/") ? tag.slice(2) : tag;
}
