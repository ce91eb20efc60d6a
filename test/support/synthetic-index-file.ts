/**
 * Index files shaped as crates.io writes them in 2026, generated deterministically for benchmarks and conformance
 * tests of sizes the 2020 corpus lacks (thousands of versions, lines of several KB). Each line has crates.io's key
 * order (`name, vers, deps, cksum, features, [features2], yanked, [links], [rust_version], pubtime, [v]`), deps with
 * cargo's key order, and a `pubtime`: one version every `spacingSeconds`, the newest `newestAgeSeconds` before `now`.
 */
export interface SyntheticIndexFileOptions {
  readonly crate: string;
  readonly versions: number;
  /** Dependencies per line: 30 gives lines of about 4 KB (SDK families, compiler crates), 4 about 700 B. */
  readonly depsPerLine: number;
  /** The moment publish times are counted back from (seconds). */
  readonly now: number;
  readonly newestAgeSeconds?: number;
  readonly spacingSeconds?: number;
  /** Every n-th version is yanked (default 17; 0: none). */
  readonly yankEvery?: number;
}

export interface SyntheticIndexFile {
  readonly text: string;
  readonly versions: readonly string[];
  /** Publish time of each version, in file order (seconds). */
  readonly times: readonly number[];
}

const KINDS = ["normal", "normal", "normal", "dev", "build"] as const;
const TARGETS = [null, null, null, null, "cfg(windows)", 'cfg(target_os = "linux")'] as const;

export function syntheticIndexFile(options: SyntheticIndexFileOptions): SyntheticIndexFile {
  const newestAge = options.newestAgeSeconds ?? 3_600;
  const spacing = options.spacingSeconds ?? 86_400;
  const yankEvery = options.yankEvery ?? 17;
  const random = seededRandom(hash(`${options.crate}/${options.versions}/${options.depsPerLine}`));
  const lines: string[] = [];
  const versions: string[] = [];
  const times: number[] = [];
  for (let index = 0; index < options.versions; index++) {
    const version = `${Math.floor(index / 400)}.${Math.floor(index / 20) % 20}.${index % 20}`;
    const time = options.now - newestAge - (options.versions - 1 - index) * spacing;
    const deps = Array.from({ length: options.depsPerLine }, (_, dep) => ({
      name: `${["smithy-types", "tokio", "serde", "http-body", "tracing"][dep % 5]}-${dep}`,
      req: `^${Math.floor(random() * 3)}.${Math.floor(random() * 40)}.${Math.floor(random() * 20)}`,
      features: random() < 0.3 ? ["std", `feature-${Math.floor(random() * 9)}`] : [],
      optional: random() < 0.2,
      default_features: random() < 0.8,
      target: TARGETS[Math.floor(random() * TARGETS.length)] ?? null,
      kind: KINDS[Math.floor(random() * KINDS.length)] ?? "normal",
    }));
    const features: Record<string, string[]> = { default: ["std"], std: [] };
    if (options.depsPerLine > 10) features.rt = ["dep:tokio-1", "tokio-1/rt"];
    // Built in crates.io's key order; features2 (and v: 2) on every third line.
    const modern = index % 3 === 0;
    const line = {
      name: options.crate,
      vers: version,
      deps,
      cksum: hexDigest(random),
      features,
      ...(modern ? { features2: { serde: ["dep:serde", "serde?/std"] } } : {}),
      yanked: yankEvery > 0 && index % yankEvery === yankEvery - 1,
      rust_version: "1.70",
      pubtime: new Date(time * 1000).toISOString().replace(/\.\d{3}Z$/, "Z"),
      ...(modern ? { v: 2 } : {}),
    };
    lines.push(JSON.stringify(line));
    versions.push(version);
    times.push(time);
  }
  return { text: `${lines.join("\n")}\n`, versions, times };
}

function hexDigest(random: () => number): string {
  let out = "";
  for (let i = 0; i < 64; i++) out += Math.floor(random() * 16).toString(16);
  return out;
}

function hash(text: string): number {
  let value = 2166136261;
  for (let i = 0; i < text.length; i++) value = Math.imul(value ^ text.charCodeAt(i), 16777619);
  return value >>> 0;
}

/** mulberry32: small, deterministic, good enough to vary the text. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
