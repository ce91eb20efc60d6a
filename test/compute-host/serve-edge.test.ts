/**
 * `npm run serve:edge` as a child process (the same command line the script runs): defaults from a manifest's
 * [local_server], flags on top, `listening on …` once ready, a clean exit on SIGTERM, exit 2 on bad flags.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BuiltGuest, buildGuest } from "./build-guest.ts";
import { type LoopbackOrigin, startLoopbackOrigin } from "./loopback-origin.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
let guest: BuiltGuest;
let origin: LoopbackOrigin;
let folder: string;
const children: ChildProcess[] = [];

function serveEdge(args: string[]): {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
} {
  const child = spawn(process.execPath, ["bin/run-ts.js", "test/compute-host/serve-edge.ts", ...args], {
    cwd: REPO,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  // Never outlive the test run.
  setTimeout(() => child.kill("SIGKILL"), 60_000).unref();
  let out = "";
  let err = "";
  child.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

async function listeningUrl(stdout: () => string, exit: Promise<number | null>): Promise<string> {
  for (;;) {
    const match = /^listening on (http:\/\/\S+\/)$/m.exec(stdout());
    if (match) return match[1]!;
    const exited = await Promise.race([
      exit.then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), 50)),
    ]);
    if (exited) throw new Error(`serve:edge exited before listening: ${stdout()}`);
  }
}

beforeAll(async () => {
  guest = await buildGuest("test/compute-host/guests/probe.js");
  origin = await startLoopbackOrigin({ "/plain": (_req, res) => res.writeHead(200).end("from the origin") });
  folder = await mkdtemp(join(tmpdir(), "serve-edge-test-"));
  await writeFile(join(folder, "kv.json"), JSON.stringify({ a: "from the manifest", m: { data: "D", metadata: "M" } }));
  await writeFile(
    join(folder, "fastly.toml"),
    [
      "manifest_version = 3",
      "[local_server.backends.origin]",
      'url = "http://127.0.0.1:1"',
      "[local_server.kv_stores]",
      'probe_kv = { file = "kv.json", format = "json" }',
      "[local_server.config_stores.probe_config]",
      'format = "inline-toml"',
      'contents = { short = "inline" }',
    ].join("\n"),
  );
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  await origin?.close();
  await guest?.remove();
  if (folder) await rm(folder, { recursive: true, force: true });
});

describe("serve:edge", () => {
  it("serves with the manifest's stores and a --backend that replaces the manifest's, and exits 0 on SIGTERM", async () => {
    const run = serveEdge([
      "--listen",
      "127.0.0.1:0",
      "--wasm",
      guest.wasmPath,
      "--manifest",
      join(folder, "fastly.toml"),
      "--backend",
      `origin=${origin.url}`,
      "--http-cache",
      "memory",
      "--workers",
      "1",
    ]);
    const url = await listeningUrl(run.stdout, run.exit);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(await (await fetch(`${url}kv?key=a`)).text()).toBe("from the manifest|");
    expect(await (await fetch(`${url}kv?key=m`)).text()).toBe("D|M");
    expect(await (await fetch(`${url}config?key=short`)).text()).toBe("6:inline");
    expect(await (await fetch(`${url}fetch?path=/plain`)).text()).toBe("from the origin");
    run.child.kill("SIGTERM");
    expect(await run.exit).toBe(0);
  });

  it("appends a --log-endpoint's entries to its file, and other endpoints' to stderr as NAME :: entry", async () => {
    const file = join(folder, "decisions.log");
    const run = serveEdge(["--listen", "127.0.0.1:0", "--wasm", guest.wasmPath, "--log-endpoint", `decisions=${file}`]);
    const url = await listeningUrl(run.stdout, run.exit);
    expect(await (await fetch(`${url}log?endpoint=decisions&msg=one&msg=two`)).text()).toBe("logged");
    expect(await (await fetch(`${url}log?endpoint=other&msg=three`)).text()).toBe("logged");
    expect(await readFile(file, "utf8")).toBe("one\ntwo\n");
    run.child.kill("SIGTERM");
    expect(await run.exit).toBe(0);
    expect(run.stderr()).toContain("other :: three\n");
  });

  it("refuses a bad flag with one line on stderr and exit 2", async () => {
    const run = serveEdge(["--no-such-flag"]);
    expect(await run.exit).toBe(2);
    expect(run.stderr().trim().split("\n")).toHaveLength(1);
    expect(run.stderr()).toContain("--no-such-flag");
    const badCache = serveEdge(["--http-cache", "sometimes"]);
    expect(await badCache.exit).toBe(2);
    const badEndpoint = serveEdge(["--log-endpoint", "decisions"]);
    expect(await badEndpoint.exit).toBe(2);
    expect(badEndpoint.stderr()).toContain("--log-endpoint takes NAME=VALUE");
  });

  it("refuses a --manifest that does not exist, rather than serving without its stores", async () => {
    const run = serveEdge(["--wasm", guest.wasmPath, "--manifest", join(folder, "missing.toml")]);
    expect(await run.exit).toBe(2);
    expect(run.stderr().trim()).toBe(`serve:edge: --manifest ${join(folder, "missing.toml")} does not exist`);
  });

  it("says to build first when the wasm is missing", async () => {
    const run = serveEdge(["--wasm", join(folder, "missing.wasm")]);
    expect(await run.exit).toBe(1);
    expect(run.stderr()).toContain("run npm run build first");
  });
});
