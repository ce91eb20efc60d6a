import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "csv-parse/sync";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The fixture's timed index events (see ../shared/fixtures/crates-io-2020/README.md). */
export const EVENTS_2020_CSV = resolve(REPO_ROOT, "../shared/fixtures/crates-io-2020/events.csv");

/** When the fixture's index snapshot was taken. */
export const SNAPSHOT_2020 = Date.UTC(2020, 2, 25, 20, 9, 32) / 1000;
/** Every version without a `publish` event was published before this moment. */
export const EVENTS_2020_START = Date.UTC(2019, 9, 17, 14, 49, 0) / 1000;

export interface IndexEvent {
  readonly time: number;
  readonly event: "publish" | "yank" | "unyank";
  readonly crate: string;
  readonly version: string;
}

/** Reads events.csv with a real CSV parser, by header name. */
export function readEvents2020(): IndexEvent[] {
  const rows = parse(readFileSync(EVENTS_2020_CSV), { columns: true }) as Record<string, string>[];
  return rows.map((row) => ({
    time: Date.parse(row.time as string) / 1000,
    event: row.event as IndexEvent["event"],
    crate: row.crate as string,
    version: row.version as string,
  }));
}

/** lowercased crate → version → publish time, from the `publish` events. */
export function publishTimes2020(): Map<string, Map<string, number>> {
  const times = new Map<string, Map<string, number>>();
  for (const event of readEvents2020()) {
    if (event.event !== "publish") continue;
    const crate = event.crate.toLowerCase();
    const versions = times.get(crate) ?? new Map<string, number>();
    versions.set(event.version, event.time);
    times.set(crate, versions);
  }
  return times;
}
