import type { ScannedIndexFile } from "./index-file.ts";
import { decideVisibility, resolvePublishTime, type HiddenReason, type Verdict, type VisibilityRules } from "./policy.ts";
import type { CrateRecord } from "./publish-times.ts";
import type { UnixSeconds } from "./time.ts";
import type { CooldownWindow } from "./window.ts";

/** Every line's verdict, and the body cargo gets: the visible lines, byte for byte, in upstream order. */
export interface FilteredIndexFile {
  readonly verdicts: readonly Verdict[];
  readonly body: string;
  /** True when no line was dropped (the body is the upstream text itself). */
  readonly unchanged: boolean;
  readonly kept: number;
  readonly hidden: Readonly<Record<HiddenReason, number>>;
  /** The earliest moment a hidden version becomes visible by age alone, if any will. */
  readonly nextVisibleAt: UnixSeconds | null;
}

/** Whether the timestamp store must be asked before `filterIndexFile` can decide this file. */
export function needsPublishTimes(file: ScannedIndexFile): boolean {
  return file.linesWithoutPubtime > 0;
}

/**
 * Decides every line of one index file. This is the one place the rules are applied: the proxy, the explain route
 * and the lockfile check all call it.
 */
export function filterIndexFile(
  file: ScannedIndexFile,
  record: CrateRecord | null,
  window: CooldownWindow,
  now: UnixSeconds,
  rules: VisibilityRules,
): FilteredIndexFile {
  const inference = rules.prePubtimeInference;
  const inferredBound = inference.enabled && file.linesWithPubtimeKey === 0 ? inference.switchedOnBy : null;
  const hidden: Record<HiddenReason, number> = { "too-young": 0, yanked: 0, "unknown-publish-time": 0, "unreadable-line": 0 };
  const verdicts: Verdict[] = [];
  const keptParts: string[] = [];
  let nextVisibleAt: UnixSeconds | null = null;
  for (const line of file.lines) {
    const stored = record !== null && line.version !== null ? record.versions.get(line.version) : undefined;
    const verdict = decideVisibility(line, resolvePublishTime(line, stored, inferredBound), window, now);
    verdicts.push(verdict);
    if (verdict.visible) {
      keptParts.push(file.text.slice(line.start, line.end));
      continue;
    }
    hidden[verdict.reason]++;
    if (verdict.reason === "too-young" && (nextVisibleAt === null || verdict.visibleAt < nextVisibleAt)) {
      nextVisibleAt = verdict.visibleAt;
    }
  }
  const kept = keptParts.length;
  const unchanged = kept === file.lines.length;
  return { verdicts, body: unchanged ? file.text : keptParts.join(""), unchanged, kept, hidden, nextVisibleAt };
}
