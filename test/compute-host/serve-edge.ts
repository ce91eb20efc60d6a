/**
 * `npm run serve:edge -- [--listen HOST:PORT] [--backend NAME=URL]… [--kv-store NAME=FILE]… [--config-store NAME=FILE]…
 *   [--log-endpoint NAME=FILE]… [--http-cache unsupported|memory] [--wasm PATH] [--workers N]`
 *
 * Serves the built Compute wasm locally, as `fastly compute serve` would (which needs Viceroy, not available here).
 * Defaults come from fastly.toml's [local_server]; flags replace a named backend or store. `--http-cache` defaults to
 * "unsupported", what Viceroy gives. A named log endpoint (`fastly:logger`) writes its entries to the file
 * `--log-endpoint` gives it, one per line; any other endpoint name writes to stderr as `NAME :: entry` (Viceroy writes
 * every endpoint to its stdout so; fastly.toml has no local setting for log endpoints). Prints `listening on http://HOST:PORT/` once ready; SIGTERM/SIGINT stop it.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import type { BackendTarget } from "./backend-client.ts";
import { type KvEntry, parseListen, startComputeHost } from "./compute-host.ts";
import { kvEntries, type LocalServerDefaults, readJsonStoreFile, readLocalServer } from "./fastly-manifest.ts";

const collect = (value: string, previous: string[]) => [...previous, value];

function namedValue(flag: string, value: string): [string, string] {
  const eq = value.indexOf("=");
  if (eq <= 0 || eq === value.length - 1)
    throw new InvalidArgumentError(`${flag} takes NAME=VALUE, got ${JSON.stringify(value)}`);
  return [value.slice(0, eq), value.slice(eq + 1)];
}

interface Flags {
  listen: string;
  backend: string[];
  kvStore: string[];
  configStore: string[];
  logEndpoint: string[];
  httpCache: "unsupported" | "memory";
  wasm: string;
  workers: number;
  manifest: string;
}

const program = new Command()
  .name("serve:edge")
  .description("Serve the Compute wasm locally with a Node host of Fastly's hostcalls")
  .option("--listen <HOST:PORT>", "address to listen on", "127.0.0.1:7676")
  .option("--backend <NAME=URL>", "a backend (repeatable; replaces fastly.toml's of that name)", collect, [])
  .option("--kv-store <NAME=FILE>", "a KV store from a JSON file (repeatable)", collect, [])
  .option("--config-store <NAME=FILE>", "a Config Store from a JSON file (repeatable)", collect, [])
  .option("--log-endpoint <NAME=FILE>", "append a named log endpoint's entries to FILE (repeatable)", collect, [])
  .addOption(
    new Option("--http-cache <MODE>", "fastly_http_cache: as Viceroy (unsupported) or an in-memory cache")
      .choices(["unsupported", "memory"])
      .default("unsupported"),
  )
  .option("--wasm <PATH>", "the Compute wasm", "bin/main.wasm")
  .option(
    "--workers <N>",
    "instances running at once",
    (value) => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("--workers takes a positive integer");
      return n;
    },
    2,
  )
  .option("--manifest <PATH>", "fastly.toml to read [local_server] from", "fastly.toml")
  .exitOverride()
  .configureOutput({ writeErr: () => {} });

function fail(message: string, code: number): never {
  process.stderr.write(`serve:edge: ${message.replace(/^error: /, "")}\n`);
  process.exit(code);
}

let flags: Flags;
try {
  program.parse(process.argv);
  flags = program.opts<Flags>();
  parseListen(flags.listen);
} catch (error) {
  if (
    error instanceof CommanderError &&
    (error.code === "commander.helpDisplayed" || error.code === "commander.version")
  )
    process.exit(0);
  fail(error instanceof Error ? error.message.split("\n")[0]! : String(error), 2);
}

let defaults: LocalServerDefaults = { backends: {}, kvStores: {}, configStores: {} };
try {
  // The default manifest may be absent (a bare wasm and flags); one named on the command line must exist.
  const named = program.getOptionValueSource("manifest") === "cli";
  if (named && !existsSync(flags.manifest)) fail(`--manifest ${flags.manifest} does not exist`, 2);
  if (existsSync(flags.manifest)) defaults = readLocalServer(flags.manifest);
} catch (error) {
  fail(error instanceof Error ? error.message : String(error), 1);
}

const backends: Record<string, BackendTarget> = { ...defaults.backends };
const kvStores: Record<string, Record<string, KvEntry>> = { ...defaults.kvStores };
const configStores: Record<string, Record<string, string>> = { ...defaults.configStores };
const logEndpoints: Record<string, string> = {};
try {
  for (const value of flags.backend) {
    const [name, url] = namedValue("--backend", value);
    new URL(url);
    backends[name] = { url };
  }
  for (const value of flags.kvStore) {
    const [name, file] = namedValue("--kv-store", value);
    kvStores[name] = kvEntries(file, readJsonStoreFile(resolve(file)));
  }
  for (const value of flags.configStore) {
    const [name, file] = namedValue("--config-store", value);
    configStores[name] = Object.fromEntries(
      Object.entries(readJsonStoreFile(resolve(file))).map(([k, v]) => [k, String(v)]),
    );
  }
  for (const value of flags.logEndpoint) {
    const [name, file] = namedValue("--log-endpoint", value);
    logEndpoints[name] = resolve(file);
  }
} catch (error) {
  fail(
    error instanceof Error ? error.message : String(error),
    error instanceof InvalidArgumentError || error instanceof TypeError ? 2 : 1,
  );
}

// After every flag was read: a malformed flag is a usage error (2) whether or not the build exists yet.
if (!existsSync(flags.wasm)) fail(`${flags.wasm} does not exist: run npm run build first`, 1);

const host = await startComputeHost({
  wasmPath: flags.wasm,
  listen: flags.listen,
  backends,
  kvStores,
  configStores,
  logEndpoints,
  httpCache: flags.httpCache,
  workers: flags.workers,
}).catch((error: unknown) => fail(error instanceof Error ? error.message : String(error), 1));

process.stdout.write(`listening on ${host.url}\n`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void host.close().then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
