import { readFileSync } from "node:fs";

/** The parts of a V8 `.cpuprofile` (as `node --cpu-prof` writes it) that self time needs. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[];
  startTime: number;
  endTime: number;
  samples: number[];
}

/**
 * Prints where a process spent its CPU: self time per function, largest first, and per source (project code,
 * each dependency, Node internals), so a slow server shows which layer to look at first.
 */
export function printProfileSummary(path: string, top = 25): void {
  const profile = JSON.parse(readFileSync(path, "utf8")) as CpuProfile;
  const perSample = (profile.endTime - profile.startTime) / 1000 / Math.max(1, profile.samples.length);
  const byFunction = new Map<string, number>();
  const bySource = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    const { functionName, lineNumber } = node.callFrame;
    const url = sourceUrl(node.callFrame.url);
    const where = url === "" ? "" : `${shortSource(url)}:${lineNumber + 1}`;
    const key = `${functionName || "(anonymous)"} ${where}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + hits);
    const source = sourceGroup(url, functionName);
    bySource.set(source, (bySource.get(source) ?? 0) + hits);
    total += hits;
  }
  const share = (hits: number) =>
    `${((100 * hits) / total).toFixed(1).padStart(5)} %  ${(hits * perSample).toFixed(0).padStart(6)} ms`;
  console.log(`\nCPU profile ${path}: ${((total * perSample) / 1000).toFixed(1)} s sampled`);
  console.log("self time by source:");
  for (const [source, hits] of [...bySource].sort((a, b) => b[1] - a[1])) console.log(`  ${share(hits)}  ${source}`);
  console.log(`self time by function (top ${top}):`);
  for (const [key, hits] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`  ${share(hits)}  ${key}`);
}

/** tsx hands some modules to V8 as `data:` URLs; their `__filename` says which file they are. */
function sourceUrl(url: string): string {
  if (!url.startsWith("data:")) return url;
  const name = /__filename%3D%22(.*?)%22/.exec(url)?.[1];
  return name === undefined ? "data: URL" : `file://${decodeURIComponent(name)}`;
}

function shortSource(url: string): string {
  const modules = url.lastIndexOf("node_modules/");
  if (modules !== -1) return url.slice(modules + "node_modules/".length);
  const src = url.indexOf("/src/");
  return src !== -1 ? url.slice(src + 1) : url.replace(/^file:\/\//, "");
}

function sourceGroup(url: string, functionName: string): string {
  if (url === "") return functionName.startsWith("(") ? functionName : "(native / V8 builtins)";
  if (url.startsWith("node:")) return "node internals";
  const modules = url.lastIndexOf("node_modules/");
  if (modules !== -1) {
    const rest = url.slice(modules + "node_modules/".length).split("/");
    return `dependency ${rest[0]?.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  const src = url.indexOf("/src/");
  if (src !== -1)
    return url
      .slice(src + 1)
      .split("/")
      .slice(0, 2)
      .join("/");
  return url;
}
