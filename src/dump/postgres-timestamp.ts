import type { UnixSeconds } from "../core/time.ts";

/** What `parsePostgresTimestamp` accepts, for error messages. */
export const POSTGRES_TIMESTAMP_FORMAT = "YYYY-MM-DD hh:mm:ss[.ffffff][+00], e.g. 2025-09-17 14:51:15.07702+00";

const ZERO = 0x30;

/**
 * Reads a PostgreSQL `timestamp`/`timestamptz` text value as the dump writes it — `2025-09-17 14:51:15.07702+00`:
 * a space between date and time, 0–6 fraction digits, an optional UTC offset `±hh`, `±hhmm` or `±hh:mm` (none means
 * UTC) — straight from the bytes, without making a string. The fraction is dropped, so the result equals the index
 * `pubtime` (created_at truncated to whole seconds). Returns NaN for anything else, impossible dates included.
 */
export function parsePostgresTimestamp(bytes: Uint8Array, start: number, end: number): UnixSeconds {
  const length = end - start;
  if (length < 19) return NaN;
  const b = bytes;
  const p = start;
  if (b[p + 4] !== 0x2d || b[p + 7] !== 0x2d || b[p + 10] !== 0x20 || b[p + 13] !== 0x3a || b[p + 16] !== 0x3a)
    return NaN;
  const year = digits(b, p, 4);
  const month = digits(b, p + 5, 2);
  const day = digits(b, p + 8, 2);
  const hour = digits(b, p + 11, 2);
  const minute = digits(b, p + 14, 2);
  const second = digits(b, p + 17, 2);
  // NaN from `digits` fails every comparison below.
  if (!(month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month))) return NaN;
  if (!(hour <= 23 && minute <= 59 && second <= 59)) return NaN;
  let i = p + 19;
  if (i < end && b[i] === 0x2e) {
    const fractionStart = ++i;
    while (i < end && isDigit(b[i] as number)) i++;
    const fractionDigits = i - fractionStart;
    if (fractionDigits < 1 || fractionDigits > 6) return NaN;
  }
  let offsetSeconds = 0;
  if (i < end) {
    const sign = b[i];
    if (sign !== 0x2b && sign !== 0x2d) return NaN;
    const rest = end - i - 1;
    let offsetHours: number;
    let offsetMinutes = 0;
    if (rest === 2) {
      offsetHours = digits(b, i + 1, 2);
    } else if (rest === 4) {
      offsetHours = digits(b, i + 1, 2);
      offsetMinutes = digits(b, i + 3, 2);
    } else if (rest === 5 && b[i + 3] === 0x3a) {
      offsetHours = digits(b, i + 1, 2);
      offsetMinutes = digits(b, i + 4, 2);
    } else {
      return NaN;
    }
    if (!(offsetHours <= 15 && offsetMinutes <= 59)) return NaN;
    offsetSeconds = (sign === 0x2b ? 1 : -1) * (offsetHours * 3600 + offsetMinutes * 60);
  }
  return daysFromCivil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds;
}

/** `parsePostgresTimestamp` for a string (tests, small files). */
export function parsePostgresTimestampText(text: string): UnixSeconds {
  const bytes = Buffer.from(text, "latin1");
  return parsePostgresTimestamp(bytes, 0, bytes.length);
}

/** Formats Unix seconds the way the dump writes them, with `fractionDigits` (0–6) digits of `fraction` (0 ≤ f < 1). */
export function formatPostgresTimestamp(at: UnixSeconds, fractionDigits = 0, fraction = 0, offset = "+00"): string {
  const text = new Date(Math.floor(at) * 1000).toISOString();
  const base = `${text.slice(0, 10)} ${text.slice(11, 19)}`;
  const digitsText =
    fractionDigits > 0
      ? `.${Math.floor(fraction * 10 ** fractionDigits)
          .toString()
          .padStart(fractionDigits, "0")}`
      : "";
  return `${base}${digitsText}${offset}`;
}

function isDigit(byte: number): boolean {
  return byte >= 0x30 && byte <= 0x39;
}

function digits(b: Uint8Array, at: number, count: number): number {
  let value = 0;
  for (let k = 0; k < count; k++) {
    const d = (b[at + k] as number) - ZERO;
    if (d < 0 || d > 9) return NaN;
    value = value * 10 + d;
  }
  return value;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}
