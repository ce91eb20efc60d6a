/**
 * Defaults for the host from a fastly.toml `[local_server]` section, as `fastly compute serve` reads it:
 * backends (`url`, `override_host`), KV stores and Config Stores from JSON files (`{ file, format = "json" }`, a
 * JSON object key → string, or for KV key → `{ data, metadata }`), or inline (`format = "inline-toml"`,
 * `contents = { … }`; KV also as an array of `{ key, data, metadata }`). File paths are relative to the manifest.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse } from "smol-toml";
import type { BackendTarget } from "./backend-client.ts";
import type { KvEntry } from "./compute-host.ts";

export interface LocalServerDefaults {
  readonly backends: Record<string, BackendTarget>;
  readonly kvStores: Record<string, Record<string, KvEntry>>;
  readonly configStores: Record<string, Record<string, string>>;
}

type Table = Record<string, unknown>;

const isTable = (value: unknown): value is Table =>
  typeof value === "object" && value !== null && !Array.isArray(value);

export function readLocalServer(manifestPath: string): LocalServerDefaults {
  const manifest = parse(readFileSync(manifestPath, "utf8")) as Table;
  const local = isTable(manifest.local_server) ? manifest.local_server : {};
  const folder = dirname(resolve(manifestPath));
  const result: LocalServerDefaults = { backends: {}, kvStores: {}, configStores: {} };

  for (const [name, backend] of Object.entries(isTable(local.backends) ? local.backends : {})) {
    if (!isTable(backend) || typeof backend.url !== "string")
      throw new Error(`${manifestPath}: local_server.backends.${name} needs a url`);
    result.backends[name] = {
      url: backend.url,
      ...(typeof backend.override_host === "string" ? { overrideHost: backend.override_host } : {}),
    };
  }
  for (const [name, store] of Object.entries(isTable(local.kv_stores) ? local.kv_stores : {})) {
    result.kvStores[name] = readKvStore(manifestPath, folder, name, store);
  }
  for (const [name, store] of Object.entries(isTable(local.config_stores) ? local.config_stores : {})) {
    const contents = storeContents(manifestPath, folder, `config_stores.${name}`, store);
    result.configStores[name] = Object.fromEntries(
      Object.entries(contents).map(([key, value]) => {
        if (typeof value !== "string") throw new Error(`${manifestPath}: config store ${name}: ${key} is not a string`);
        return [key, value];
      }),
    );
  }
  return result;
}

/** A JSON file of key → value for `--kv-store NAME=FILE` / `--config-store NAME=FILE`. */
export function readJsonStoreFile(path: string): Table {
  const parsed: unknown = JSON.parse(readFileSync(path, "utf8"));
  if (!isTable(parsed)) throw new Error(`${path}: expected a JSON object of key → value`);
  return parsed;
}

export function kvEntries(source: string, contents: Table): Record<string, KvEntry> {
  return Object.fromEntries(
    Object.entries(contents).map(([key, value]) => {
      if (typeof value === "string") return [key, value];
      if (isTable(value) && typeof value.data === "string") {
        return [key, { data: value.data, ...(typeof value.metadata === "string" ? { metadata: value.metadata } : {}) }];
      }
      throw new Error(`${source}: KV entry ${key} must be a string or { data, metadata }`);
    }),
  );
}

function readKvStore(manifestPath: string, folder: string, name: string, store: unknown): Record<string, KvEntry> {
  if (Array.isArray(store)) {
    return Object.fromEntries(
      store.map((item) => {
        if (!isTable(item) || typeof item.key !== "string" || typeof item.data !== "string") {
          throw new Error(`${manifestPath}: kv_stores.${name}: each entry needs key and data`);
        }
        return [
          item.key,
          { data: item.data, ...(typeof item.metadata === "string" ? { metadata: item.metadata } : {}) },
        ];
      }),
    );
  }
  return kvEntries(
    `${manifestPath}: kv_stores.${name}`,
    storeContents(manifestPath, folder, `kv_stores.${name}`, store),
  );
}

function storeContents(manifestPath: string, folder: string, where: string, store: unknown): Table {
  if (!isTable(store)) throw new Error(`${manifestPath}: local_server.${where} must be a table`);
  if (typeof store.file === "string") {
    if (store.format !== undefined && store.format !== "json")
      throw new Error(`${manifestPath}: local_server.${where}: only format = "json" files are read`);
    return readJsonStoreFile(resolve(folder, store.file));
  }
  if (store.format === "inline-toml" && isTable(store.contents)) return store.contents;
  throw new Error(`${manifestPath}: local_server.${where} needs { file, format = "json" } or inline-toml contents`);
}
