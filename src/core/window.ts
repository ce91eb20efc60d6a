import type { UnixSeconds } from "./time.ts";

/** A cooldown window as written in the URL (`7d`, `12h`) and its length. */
export interface CooldownWindow {
  readonly label: string;
  readonly seconds: UnixSeconds;
}

export const MAX_WINDOW_DAYS = 30;
export const MAX_WINDOW_HOURS = 720;

/** What the URL segment may look like; used in error messages and `/-/status`. */
export const ACCEPTED_WINDOWS = `/Nd/ with N = 0…${MAX_WINDOW_DAYS} (0d passes everything through) or /Nh/ with N = 1…${MAX_WINDOW_HOURS}, written without leading zeros or signs, e.g. /7d/ or /36h/`;

export type WindowParse = { ok: true; window: CooldownWindow } | { ok: false; message: string };

// Canonical forms only: one spelling per window keeps one cargo cache and one edge cache entry per window.
const DAYS = /^(0|[1-9][0-9]?)d$/;
const HOURS = /^([1-9][0-9]{0,2})h$/;

export function parseWindow(segment: string): WindowParse {
  const days = DAYS.exec(segment);
  if (days !== null) {
    const n = Number(days[1]);
    if (n <= MAX_WINDOW_DAYS) return { ok: true, window: { label: segment, seconds: n * 86_400 } };
  }
  const hours = HOURS.exec(segment);
  if (hours !== null) {
    const n = Number(hours[1]);
    if (n <= MAX_WINDOW_HOURS) return { ok: true, window: { label: segment, seconds: n * 3_600 } };
  }
  return { ok: false, message: `"${printable(segment)}" is not a window; accepted: ${ACCEPTED_WINDOWS}` };
}

/** Whether this window shows everything exactly as upstream has it. */
export function isPassThrough(window: CooldownWindow): boolean {
  return window.seconds === 0;
}

/** Keeps error messages one line and free of control characters, whatever the client sent. */
export function printable(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, "?");
  return clean.length > 80 ? `${clean.slice(0, 80)}…` : clean;
}
