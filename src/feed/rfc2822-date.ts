import type { UnixSeconds } from "../core/time.ts";

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = new Set(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]);
const NAMED_ZONES: Record<string, number> = { ut: 0, utc: 0, gmt: 0, z: 0 };
const DATE =
  /^(?:([A-Za-z]{3}),\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})\s+(\d{2}):(\d{2})(?::(\d{2}))?\s+([+-]\d{4}|[A-Za-z]{1,3})$/;

/**
 * Parses an RSS `pubDate` (RFC 2822 §3.3, e.g. `Sat, 22 Jun 2024 15:57:19 +0000`) to Unix seconds, or null. Strict
 * where it matters: a real calendar date, hours 0–23, a numeric zone or UT/UTC/GMT/Z (other named zones are obsolete
 * and ambiguous, so refused rather than guessed).
 */
export function parseRfc2822Date(text: string): UnixSeconds | null {
  const m = DATE.exec(text.trim());
  if (m === null) return null;
  const [, dayName, dayText, monthText, yearText, hourText, minuteText, secondText, zoneText] =
    m as unknown as string[];
  if (dayName !== undefined && !DAYS.has(dayName.toLowerCase())) return null;
  const month = MONTHS.indexOf((monthText as string).toLowerCase());
  const day = Number(dayText);
  const year = Number(yearText);
  const hour = Number(hourText);
  const minute = Number(minuteText);
  const second = secondText === undefined ? 0 : Number(secondText);
  if (month < 0 || hour > 23 || minute > 59 || second > 59) return null;
  const ms = Date.UTC(year, month, day, hour, minute, second);
  const check = new Date(ms);
  if (check.getUTCDate() !== day || check.getUTCMonth() !== month) return null;
  let offsetMinutes: number;
  const zone = zoneText as string;
  if (zone[0] === "+" || zone[0] === "-") {
    const hours = Number(zone.slice(1, 3));
    const minutes = Number(zone.slice(3, 5));
    if (minutes > 59) return null;
    offsetMinutes = (zone[0] === "+" ? 1 : -1) * (hours * 60 + minutes);
  } else {
    const named = NAMED_ZONES[zone.toLowerCase()];
    if (named === undefined) return null;
    offsetMinutes = named;
  }
  return ms / 1000 - offsetMinutes * 60;
}
