import type { CrateDecider } from "../core/crate-decider.ts";
import { indexPathFor } from "../core/index-path.ts";
import { verdictForPinnedVersion } from "../core/pinned-version.ts";
import type { HiddenReason } from "../core/policy.ts";
import { formatRfc3339 } from "../core/time.ts";
import { describeTrustSignal } from "../core/trust-signals.ts";
import type { CooldownWindow } from "../core/window.ts";
import type { LockedPackage, Lockfile, PackageOrigin } from "./lockfile.ts";

/** What the check says about one locked package. */
export type PinStatus = "visible" | HiddenReason | "not-in-index" | "crate-not-found" | "fetch-failed" | "not-checked";

export interface PinFinding {
  readonly name: string;
  readonly version: string;
  readonly origin: PackageOrigin;
  readonly status: PinStatus;
  readonly published_at: string | null;
  /** When the pin becomes visible by age (too-young and trust-signal only). */
  readonly visible_at: string | null;
  readonly detail: string | null;
}

export interface CheckReport {
  readonly window: string;
  readonly checked: number;
  readonly problems: number;
  readonly findings: readonly PinFinding[];
}

/** Statuses that fail the check: the window would not let cargo resolve this pin (or it cannot be shown safe). */
const FAILING: ReadonlySet<PinStatus> = new Set<PinStatus>([
  "too-young",
  "yanked",
  "unknown-publish-time",
  "unreadable-line",
  "trust-signal",
  "trust-data-unknown",
  "not-in-index",
  "crate-not-found",
  "fetch-failed",
]);

export function isProblem(finding: PinFinding): boolean {
  return FAILING.has(finding.status);
}

/**
 * Decides every crates.io pin of a lockfile under the window with the proxy's own decider, fetching each crate's index
 * file once, at most `concurrency` at a time.
 */
export async function checkLockfile(
  lockfile: Lockfile,
  decide: CrateDecider,
  window: CooldownWindow,
  options: { concurrency?: number; userAgent?: string } = {},
): Promise<CheckReport> {
  const fromCratesIo = lockfile.packages.filter((p) => p.origin === "crates-io");
  const names = [...new Set(fromCratesIo.map((p) => p.name.toLowerCase()))];
  const decided = new Map<string, Awaited<ReturnType<CrateDecider>>>();
  await forEachBounded(names, options.concurrency ?? 16, async (name) => {
    decided.set(name, await decide(name, indexPathFor(name), window, options.userAgent ?? null));
  });
  const findings: PinFinding[] = [];
  for (const pkg of lockfile.packages) {
    if (pkg.origin !== "crates-io") {
      findings.push(finding(pkg, "not-checked", null, null, `${pkg.origin} source is not filtered by the cooldown`));
      continue;
    }
    findings.push(await judge(pkg, decided.get(pkg.name.toLowerCase()) as Awaited<ReturnType<CrateDecider>>));
  }
  return {
    window: window.label,
    checked: fromCratesIo.length,
    problems: findings.filter(isProblem).length,
    findings,
  };
}

async function judge(pkg: LockedPackage, decided: Awaited<ReturnType<CrateDecider>>): Promise<PinFinding> {
  if (!decided.ok) {
    const message = (await decided.response.text()).trim();
    return finding(pkg, decided.response.status === 404 ? "crate-not-found" : "fetch-failed", null, null, message);
  }
  const pinned = verdictForPinnedVersion(decided, pkg.version);
  if (!pinned.found) return finding(pkg, "not-in-index", null, null, "the index has no such version");
  const verdict = pinned.verdict;
  const publishedAt =
    "publishedAt" in verdict && verdict.publishedAt !== null ? formatRfc3339(verdict.publishedAt.at) : null;
  if (verdict.visible) return finding(pkg, "visible", publishedAt, null, null);
  const visibleAt =
    verdict.reason === "too-young" || verdict.reason === "trust-signal" ? formatRfc3339(verdict.visibleAt) : null;
  // The signals' evidence, e.g. "first release by @eve (earlier releases by @alice)".
  const trust = "trust" in verdict && verdict.trust !== undefined ? verdict.trust : null;
  const detail =
    trust === null ? null : trust.signals.map((signal) => describeTrustSignal(signal, formatRfc3339)).join("; ");
  return finding(pkg, verdict.reason, publishedAt, visibleAt, detail);
}

function finding(
  pkg: LockedPackage,
  status: PinStatus,
  publishedAt: string | null,
  visibleAt: string | null,
  detail: string | null,
): PinFinding {
  return {
    name: pkg.name,
    version: pkg.version,
    origin: pkg.origin,
    status,
    published_at: publishedAt,
    visible_at: visibleAt,
    detail,
  };
}

async function forEachBounded<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Human output: one line per problem with its reason and when it clears, then a summary. */
export function formatCheckText(report: CheckReport): string {
  const lines: string[] = [];
  for (const f of report.findings.filter(isProblem)) lines.push(`${f.name} ${f.version}: ${describe(f)}`);
  for (const f of skippedWorthALine(report)) lines.push(`${f.name} ${f.version}: not checked (${f.detail})`);
  lines.push(summaryLine(report));
  return `${lines.join("\n")}\n`;
}

/**
 * The same report as Markdown (GitHub's flavour, e.g. for `$GITHUB_STEP_SUMMARY`): the summary as a heading, then a
 * table of the pins the text lists — pin, verdict, reason, when it clears.
 */
export function formatCheckMarkdown(report: CheckReport): string {
  const rows = [...report.findings.filter(isProblem), ...skippedWorthALine(report)].map((f) => {
    const row = tableRow(f);
    return `| ${cell(`${f.name} ${f.version}`)} | ${row.verdict} | ${cell(row.reason)} | ${cell(row.clears)} |`;
  });
  const heading = `### crates-cooldown check: ${summaryLine(report)}\n`;
  if (rows.length === 0) return `${heading}\n`;
  return `${heading}\n| pin | verdict | reason | clears at |\n| --- | --- | --- | --- |\n${rows.join("\n")}\n\n`;
}

// Path packages are the project's own code; only other sources are worth a line.
function skippedWorthALine(report: CheckReport): PinFinding[] {
  return report.findings.filter((f) => f.status === "not-checked" && f.origin !== "path");
}

function summaryLine(report: CheckReport): string {
  return report.problems === 0
    ? `ok: all ${report.checked} crates.io pins are visible under /${report.window}/`
    : `${report.problems} of ${report.checked} crates.io pins would not resolve under /${report.window}/`;
}

function tableRow(f: PinFinding): { verdict: string; reason: string; clears: string } {
  switch (f.status) {
    case "too-young":
      return {
        verdict: "hidden",
        reason: `too young (published ${f.published_at})${f.detail === null ? "" : `; ${f.detail}`}`,
        clears: f.visible_at ?? "-",
      };
    case "trust-signal":
      return { verdict: "hidden", reason: `held by trust signals: ${f.detail}`, clears: f.visible_at ?? "-" };
    case "trust-data-unknown":
      return { verdict: "hidden", reason: "trust data unknown", clears: "once the database learns who published it" };
    case "yanked":
      return { verdict: "hidden", reason: "yanked", clears: "never (update to another version)" };
    case "unknown-publish-time":
      return {
        verdict: "hidden",
        reason: "publish time unknown",
        clears: "once the timestamp database learns it and the window has passed",
      };
    case "unreadable-line":
      return { verdict: "hidden", reason: "its index line cannot be read", clears: "-" };
    case "not-in-index":
      return { verdict: "missing", reason: "not in the index (removed or never published)", clears: "never" };
    case "crate-not-found":
      return { verdict: "missing", reason: f.detail ?? "no such crate in the index", clears: "never" };
    case "not-checked":
      return { verdict: "not checked", reason: f.detail ?? f.status, clears: "-" };
    default:
      return { verdict: "error", reason: f.detail ?? f.status, clears: "-" };
  }
}

/** A table cell: one line, with the characters that would end the cell or the line escaped. */
function cell(text: string): string {
  return text.replace(/\s+/g, " ").replace(/[\\|<>]/g, (c) => (c === "<" ? "&lt;" : c === ">" ? "&gt;" : `\\${c}`));
}

function describe(f: PinFinding): string {
  switch (f.status) {
    case "too-young":
      return `too young (published ${f.published_at})${f.detail === null ? "" : `; ${f.detail}`}; clears at ${f.visible_at}`;
    case "trust-signal":
      return `held by trust signals: ${f.detail}; clears at ${f.visible_at}`;
    case "trust-data-unknown":
      return "trust data unknown; clears once the timestamp database learns who published it";
    case "yanked":
      return "yanked; never clears (update to another version)";
    case "unknown-publish-time":
      return "publish time unknown; clears once the timestamp database learns it and the window has passed";
    case "unreadable-line":
      return "its index line cannot be read";
    case "not-in-index":
      return "not in the index (removed or never published)";
    default:
      return f.detail ?? f.status;
  }
}
