import type { ScannedIndexFile } from "./index-file.ts";
import type { FilteredIndexFile } from "./index-filter.ts";
import type { TimeSource, Verdict } from "./policy.ts";
import { formatRfc3339, type UnixSeconds } from "./time.ts";
import { describeTrustSignal } from "./trust-signals.ts";
import type { CooldownWindow } from "./window.ts";

/** One version's decision, as `/-/explain` and `crates-cooldown explain` show it. */
export interface VersionExplanation {
  readonly version: string | null;
  readonly published_at: string | null;
  readonly source: TimeSource | null;
  readonly visible: boolean;
  /** `null` when visible; otherwise too-young, yanked, unknown-publish-time or unreadable-line. */
  readonly reason: string | null;
  /** When the version became or becomes visible by age; `null` when age alone never makes it visible. */
  readonly visible_at: string | null;
  readonly yanked: boolean;
  /** An exception in force for this version: its reason and expiry. */
  readonly exception: { readonly reason: string; readonly expires: string } | null;
  /** The advisory whose fix this version is, when security-fix admission shortens its wait. */
  readonly advisory: { readonly id: string; readonly floor_seconds: number } | null;
  /** Shown although its publish time is unknown (`unknown-publish-time = "show"`). */
  readonly shown_without_publish_time: boolean;
  /** Trust signals that lengthen (or lengthened) its wait beyond the window, with their evidence. */
  readonly trust: {
    readonly extra_seconds: number;
    readonly signals: readonly { readonly signal: string; readonly evidence: string }[];
  } | null;
}

export interface Explanation {
  readonly crate: string;
  readonly window: string;
  readonly now: string;
  readonly versions: readonly VersionExplanation[];
}

/** Turns the verdicts the filter made into the explanation; it never decides anything itself. */
export function explainIndexFile(
  crate: string,
  window: CooldownWindow,
  now: UnixSeconds,
  file: ScannedIndexFile,
  filtered: FilteredIndexFile,
): Explanation {
  const versions = file.lines.map((line, i) =>
    explainVerdict(line.version, line.yanked, filtered.verdicts[i] as Verdict, window),
  );
  return { crate, window: window.label, now: formatRfc3339(now), versions };
}

function explainVerdict(
  version: string | null,
  yanked: boolean,
  verdict: Verdict,
  window: CooldownWindow,
): VersionExplanation {
  const publishedAt = "publishedAt" in verdict ? verdict.publishedAt : null;
  let visibleAt: UnixSeconds | null = null;
  if (verdict.visible) visibleAt = publishedAt === null ? null : publishedAt.at + window.seconds;
  else if (verdict.reason === "too-young" || verdict.reason === "trust-signal") visibleAt = verdict.visibleAt;
  const trust = "trust" in verdict ? verdict.trust : undefined;
  if (verdict.visible && trust !== undefined && publishedAt !== null)
    visibleAt = publishedAt.at + window.seconds + trust.extra;
  const grant = "grant" in verdict ? verdict.grant : null;
  if (grant?.kind === "security-fix" && verdict.visible && publishedAt !== null)
    visibleAt = publishedAt.at + grant.floor;
  return {
    version,
    published_at: publishedAt === null ? null : formatRfc3339(publishedAt.at),
    source: publishedAt?.source ?? null,
    visible: verdict.visible,
    reason: verdict.visible ? null : verdict.reason,
    visible_at: visibleAt === null ? null : formatRfc3339(visibleAt),
    yanked,
    exception: grant?.kind === "exception" ? { reason: grant.reason, expires: formatRfc3339(grant.expires) } : null,
    advisory: grant?.kind === "security-fix" ? { id: grant.advisory, floor_seconds: grant.floor } : null,
    shown_without_publish_time: grant?.kind === "unknown-publish-time-shown",
    trust:
      trust === undefined
        ? null
        : {
            extra_seconds: trust.extra,
            signals: trust.signals.map((s) => ({ signal: s.signal, evidence: describeTrustSignal(s, formatRfc3339) })),
          },
  };
}

const SOURCE_LABEL: Record<TimeSource, string> = {
  pubtime: "pubtime",
  database: "database",
  "pre-pubtime-inference": "inferred",
};

/** A plain-text table for terminals and curl. */
export function formatExplanationText(explanation: Explanation): string {
  const header = ["VERSION", "PUBLISHED", "SOURCE", "VISIBLE", "REASON"];
  const rows = explanation.versions.map((v) => [
    v.version ?? "(unreadable line)",
    v.published_at ?? "unknown",
    v.source === null ? "-" : SOURCE_LABEL[v.source],
    v.visible ? "yes" : "no",
    describeReason(v),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] as number))).join("  ");
  const visible = explanation.versions.filter((v) => v.visible).length;
  return [
    `${explanation.crate} under /${explanation.window}/ at ${explanation.now}: ${visible} of ${explanation.versions.length} versions visible`,
    line(header),
    ...rows.map(line),
    "",
  ].join("\n");
}

function describeReason(v: VersionExplanation): string {
  switch (v.reason) {
    case null:
      if (v.exception !== null) return `exception until ${v.exception.expires}: ${v.exception.reason}`;
      if (v.shown_without_publish_time) return "publish time unknown, shown by policy";
      if (v.advisory !== null) return `security fix (${v.advisory.id}), visible since ${v.visible_at}`;
      if (v.trust !== null) return `${describeTrust(v.trust)}, visible since ${v.visible_at}`;
      return `visible since ${v.visible_at}`;
    case "too-young":
      if (v.advisory !== null) return `security fix (${v.advisory.id}), too young until ${v.visible_at}`;
      if (v.trust !== null) return `too young; ${describeTrust(v.trust)}, visible at ${v.visible_at}`;
      return `too young until ${v.visible_at}`;
    case "trust-signal":
      return `${describeTrust(v.trust as NonNullable<VersionExplanation["trust"]>)}, visible at ${v.visible_at}`;
    case "trust-data-unknown":
      return "trust data unknown (hidden until the timestamp database learns who published it)";
    case "yanked":
      return "yanked";
    case "unknown-publish-time":
      return "publish time unknown (hidden until the timestamp database learns it)";
    default:
      return "line cannot be read as an index entry";
  }
}

/** `first release by @eve (earlier releases by @alice): +7d`; several signals joined, the longest wait applying. */
function describeTrust(trust: NonNullable<VersionExplanation["trust"]>): string {
  return `${trust.signals.map((s) => s.evidence).join("; ")}: +${formatDuration(trust.extra_seconds)}`;
}

function formatDuration(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400}d`;
  if (seconds % 3_600 === 0) return `${seconds / 3_600}h`;
  return `${Math.round(seconds / 60)}m`;
}
