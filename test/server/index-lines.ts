import type { UnixSeconds } from "../../src/core/time.ts";

export interface VersionSpec {
  readonly vers: string;
  /** Written as `pubtime` when given. */
  readonly publishedAt?: UnixSeconds;
  readonly yanked?: boolean;
}

export const DAY: UnixSeconds = 86_400;

export function nowSeconds(): UnixSeconds {
  return Math.floor(Date.now() / 1000);
}

/** An index file as crates.io writes it: one JSON line per version, fields in crates.io's order. */
export function indexFile(name: string, versions: readonly VersionSpec[]): string {
  return versions
    .map((version) => {
      const line: Record<string, unknown> = {
        name,
        vers: version.vers,
        deps: [],
        cksum: "0".repeat(64),
        features: {},
        yanked: version.yanked ?? false,
      };
      if (version.publishedAt !== undefined) {
        line.pubtime = new Date(version.publishedAt * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
      }
      return `${JSON.stringify(line)}\n`;
    })
    .join("");
}

/** The `vers` of every line in an index body. */
export function versionsIn(body: string): string[] {
  return body
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => (JSON.parse(line) as { vers: string }).vers);
}
