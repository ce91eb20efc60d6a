import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "smol-toml";

/** The outcome of one cargo invocation. */
export interface CargoRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** True when the run was killed for exceeding its time limit. */
  readonly timedOut: boolean;
}

/** A dependency line of the scratch project's `[dependencies]`: a requirement, or a table in TOML inline syntax. */
export type DependencySpec =
  | string
  | { readonly version: string; readonly package?: string; readonly features?: readonly string[] };

export interface CargoProjectOptions {
  /** The sparse index cargo resolves against, ending in `/`, e.g. `http://127.0.0.1:PORT/7d/` (no `sparse+`). */
  readonly registry: string;
  readonly dependencies: Readonly<Record<string, DependencySpec>>;
  /** A CARGO_HOME to share (index cache, downloaded `.crate`s) between projects of one test file; default: a fresh one. */
  readonly cargoHome?: string;
  /** `src/main.rs`; default an empty `main`. */
  readonly main?: string;
  /** Per-invocation time limit (default 30 s; the tiny crates here build in well under a second). */
  readonly timeoutMs?: number;
}

export interface LockedPackage {
  readonly name: string;
  readonly version: string;
  readonly source: string | null;
  readonly checksum: string | null;
}

const SCRATCH_PREFIX = "crates-cooldown-e2e-";

/** The `cargo --version` of the cargo on PATH, or null when there is none. */
export function cargoVersion(): string | null {
  try {
    return execFileSync("cargo", ["--version"], {
      encoding: "utf8",
      timeout: 20_000,
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return null;
  }
}

/** A fresh, empty CARGO_HOME in a temp dir: no user config, credentials or caches leak in. */
export function createCargoHome(): string {
  const home = mkdtempSync(join(tmpdir(), `${SCRATCH_PREFIX}home-`));
  writeFileSync(join(home, "config.toml"), "");
  return home;
}

/**
 * A scratch binary crate whose crates.io dependencies all resolve through `registry` (source replacement, as users
 * configure the proxy), run by real cargo with an isolated CARGO_HOME and no way to reach the internet.
 */
export class CargoProject {
  readonly dir: string;
  readonly cargoHome: string;
  private readonly ownsHome: boolean;
  private readonly timeoutMs: number;

  constructor(options: CargoProjectOptions) {
    this.dir = mkdtempSync(join(tmpdir(), `${SCRATCH_PREFIX}project-`));
    this.ownsHome = options.cargoHome === undefined;
    this.cargoHome = options.cargoHome ?? createCargoHome();
    this.timeoutMs = options.timeoutMs ?? 30_000;
    mkdirSync(join(this.dir, "src"));
    mkdirSync(join(this.dir, ".cargo"));
    writeFileSync(join(this.dir, "src", "main.rs"), options.main ?? "fn main() {}\n");
    this.setDependencies(options.dependencies);
    this.setRegistry(options.registry);
  }

  /** Rewrites `.cargo/config.toml` to resolve crates.io through another index (e.g. another window). */
  setRegistry(registry: string): void {
    if (!registry.endsWith("/")) throw new Error(`a sparse registry URL must end with "/": ${registry}`);
    const config = [
      "[source.crates-io]",
      'replace-with = "cooldown"',
      "",
      "[source.cooldown]",
      `registry = "sparse+${registry}"`,
      "",
      "[net]",
      // A failure must show at once, not after cargo's backoff; the servers are local and bounded.
      "retry = 0",
      "",
      "[http]",
      "timeout = 20",
      "",
    ].join("\n");
    writeFileSync(join(this.dir, ".cargo", "config.toml"), config);
  }

  setDependencies(dependencies: Readonly<Record<string, DependencySpec>>): void {
    const lines = Object.entries(dependencies).map(([name, spec]) => {
      if (typeof spec === "string") return `${name} = ${JSON.stringify(spec)}`;
      const fields = [`version = ${JSON.stringify(spec.version)}`];
      if (spec.package !== undefined) fields.push(`package = ${JSON.stringify(spec.package)}`);
      if (spec.features !== undefined)
        fields.push(`features = [${spec.features.map((f) => JSON.stringify(f)).join(", ")}]`);
      return `${name} = { ${fields.join(", ")} }`;
    });
    const manifest = [
      "[package]",
      'name = "e2e-app"',
      'version = "0.0.0"',
      'edition = "2021"',
      "publish = false",
      "",
      "[dependencies]",
      ...lines,
      "",
    ];
    writeFileSync(join(this.dir, "Cargo.toml"), manifest.join("\n"));
  }

  /** Runs `cargo <args>` in the project. Never throws for a non-zero exit: tests assert on the outcome. */
  run(args: readonly string[], timeoutMs: number = this.timeoutMs): Promise<CargoRun> {
    // Asynchronous on purpose: the fake crates.io and the proxy usually run in this same process.
    return new Promise((resolve) => {
      execFile(
        "cargo",
        [...args],
        {
          cwd: this.dir,
          env: this.env(),
          timeout: timeoutMs,
          killSignal: "SIGKILL",
          maxBuffer: 16 * 1024 * 1024,
          encoding: "utf8",
        },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
          resolve({ code, stdout, stderr, timedOut: error !== null && error.killed === true && code === null });
        },
      );
    });
  }

  generateLockfile(): Promise<CargoRun> {
    return this.run(["generate-lockfile"]);
  }

  update(...args: string[]): Promise<CargoRun> {
    return this.run(["update", ...args]);
  }

  build(): Promise<CargoRun> {
    return this.run(["build"]);
  }

  /** Runs the binary the last `build()` produced and returns its stdout (rejects on failure or timeout). */
  runBinary(timeoutMs = 20_000): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        join(this.dir, "target", "debug", "e2e-app"),
        [],
        { timeout: timeoutMs, killSignal: "SIGKILL", encoding: "utf8" },
        (error, stdout, stderr) => {
          if (error !== null) reject(new Error(`e2e-app failed: ${error.message}\n${stderr}`));
          else resolve(stdout);
        },
      );
    });
  }

  readLockfile(): string {
    return readFileSync(join(this.dir, "Cargo.lock"), "utf8");
  }

  /** Puts a lockfile in place, e.g. one committed elsewhere, as a CI checkout would have it. */
  writeLockfile(text: string): void {
    writeFileSync(join(this.dir, "Cargo.lock"), text);
  }

  /** Every `[[package]]` of Cargo.lock except the project itself. */
  lockedPackages(): LockedPackage[] {
    const lock = parse(this.readLockfile()) as { package?: Record<string, unknown>[] };
    return (lock.package ?? [])
      .filter((p) => p.name !== "e2e-app")
      .map((p) => ({
        name: String(p.name),
        version: String(p.version),
        source: typeof p.source === "string" ? p.source : null,
        checksum: typeof p.checksum === "string" ? p.checksum : null,
      }));
  }

  /** The one locked version of a crate, or null when the lockfile does not have it. */
  lockedVersion(name: string): string | null {
    const found = this.lockedPackages().filter((p) => p.name === name);
    if (found.length > 1)
      throw new Error(`Cargo.lock has ${found.length} versions of ${name}: ${found.map((p) => p.version).join(", ")}`);
    return found[0]?.version ?? null;
  }

  /** Removes the project (and its CARGO_HOME when it made its own). */
  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
    if (this.ownsHome) rmSync(this.cargoHome, { recursive: true, force: true });
  }

  private env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) {
      // Nothing of the caller's cargo setup (registry tokens, source config, target dir, proxies) may leak in.
      if (/^(CARGO|RUSTC|RUSTFLAGS|RUSTDOC|HTTPS?_PROXY|ALL_PROXY|NO_PROXY)/i.test(key)) continue;
      env[key] = value;
    }
    return {
      ...env,
      CARGO_HOME: this.cargoHome,
      CARGO_TERM_COLOR: "never",
      CARGO_TERM_PROGRESS_WHEN: "never",
      CARGO_NET_RETRY: "0",
      CARGO_HTTP_TIMEOUT: "20",
      CARGO_INCREMENTAL: "0",
      CARGO_BUILD_JOBS: "2",
      // Anything that is not the local servers goes to a dead proxy: the test can never reach the real crates.io.
      http_proxy: "http://127.0.0.1:9",
      https_proxy: "http://127.0.0.1:9",
      ALL_PROXY: "http://127.0.0.1:9",
      no_proxy: "127.0.0.1,localhost",
    };
  }
}

/** Exit status and stderr of a run, as the message of a failed assertion. */
export function describeRun(run: CargoRun): string {
  return `exit ${run.code}${run.timedOut ? " (timed out)" : ""}\n--- stderr ---\n${run.stderr}`;
}
