import { UserError } from "../node/user-error.ts";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+)(ms|s|m|h|d)/y;

/** What `parseDuration` accepts, for help and errors. */
export const DURATION_FORMAT = "a number with a unit (ms, s, m, h, d), or several: 30s, 5m, 24h, 1h30m";

/** Parses `5m`, `24h`, `1h30m`, `90s` to milliseconds; `flag` names the option in the one-line error. */
export function parseDuration(text: string, flag: string): number {
  let total = 0;
  PART.lastIndex = 0;
  let matched = 0;
  const clean = text.trim();
  while (PART.lastIndex < clean.length) {
    const m = PART.exec(clean);
    if (m === null) break;
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    matched = PART.lastIndex;
  }
  if (clean.length === 0 || matched !== clean.length || total <= 0) {
    throw new UserError(`${flag} "${text}" is not a duration; expected ${DURATION_FORMAT}`);
  }
  return total;
}

/** `300000` → `5m`, for log lines. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
}
