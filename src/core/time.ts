/** Seconds since the Unix epoch, UTC. Every instant in the core is one of these. */
export type UnixSeconds = number;

const PUBTIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;

/**
 * Parses an index line's `pubtime` exactly as cargo accepts it: `YYYY-MM-DDThh:mm:ssZ`, 20 characters, no fraction.
 * Anything else (including impossible dates such as Feb 30) is `null`: cargo would reject such a line, and the core
 * never trusts a time it cannot read.
 */
export function parsePubtime(text: string): UnixSeconds | null {
  if (text.length !== 20) return null;
  const m = PUBTIME.exec(text);
  if (m === null) return null;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0–99 as 1900–1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  if (date.getUTCDate() !== day || date.getUTCMonth() !== month - 1) return null;
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime() / 1000;
}

/** RFC 3339 in the same shape as `pubtime` (whole seconds, `Z`). */
export function formatRfc3339(at: UnixSeconds): string {
  return new Date(Math.floor(at) * 1000).toISOString().replace(".000Z", "Z");
}
