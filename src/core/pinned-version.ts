import type { DecidedIndexFile } from "./crate-decider.ts";
import type { Verdict } from "./policy.ts";

/** What the window says about one version pinned in a lockfile. */
export type PinnedVerdict = { found: true; verdict: Verdict } | { found: false };

/**
 * Finds the verdict for a pinned version in a decided index file. Cargo.lock records `vers` as the index has it; if
 * build metadata was dropped somewhere, the version without it is matched as cargo would (build metadata is ignored
 * in semver precedence). The last matching line wins, as cargo's index reading does.
 */
export function verdictForPinnedVersion(
  decided: Extract<DecidedIndexFile, { ok: true }>,
  version: string,
): PinnedVerdict {
  const lines = decided.file.lines;
  let match = -1;
  for (let i = 0; i < lines.length; i++) if (lines[i]?.version === version) match = i;
  if (match === -1) {
    const bare = withoutBuildMetadata(version);
    for (let i = 0; i < lines.length; i++) {
      const candidate = lines[i]?.version;
      if (candidate !== null && candidate !== undefined && withoutBuildMetadata(candidate) === bare) match = i;
    }
  }
  if (match === -1) return { found: false };
  return { found: true, verdict: decided.filtered.verdicts[match] as Verdict };
}

function withoutBuildMetadata(version: string): string {
  const plus = version.indexOf("+");
  return plus === -1 ? version : version.slice(0, plus);
}
