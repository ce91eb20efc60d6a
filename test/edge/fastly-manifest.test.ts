import { readFileSync } from "node:fs";
import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";
import { decodeFreshness, FRESHNESS_KV_KEY } from "../../src/core/freshness.ts";
import { CRATES_IO_INDEX_ORIGIN } from "../../src/core/index-path.ts";
import { decodePolicy, POLICY_KV_KEY } from "../../src/core/policy-document.ts";
import { decodeCrateRecord, encodeCrateRecord } from "../../src/core/publish-times.ts";
import { CRATES_IO_BACKEND } from "../../src/edge/backend-upstream.ts";
import { CONFIG_STORE, parseEdgeSettings } from "../../src/edge/edge-settings.ts";
import { PUBLISH_TIMES_STORE } from "../../src/edge/kv-publish-times.ts";

const root = new URL("../../", import.meta.url);
const readText = (path: string) => readFileSync(new URL(path, root), "utf8");

interface Manifest {
  manifest_version: number;
  language: string;
  scripts: { build: string };
  local_server: {
    backends: Record<string, { url: string; override_host: string }>;
    kv_stores: Record<string, { file: string; format: string }>;
    config_stores: Record<string, { file: string; format: string }>;
  };
  setup: {
    backends: Record<string, { address: string; port: number }>;
    kv_stores: Record<string, unknown>;
    config_stores: Record<string, { items: Record<string, { value: string }> }>;
  };
}

const manifest = parse(readText("fastly.toml")) as unknown as Manifest;

describe("fastly.toml", () => {
  it("is a manifest v3 JavaScript package built by npm run build", () => {
    expect(manifest.manifest_version).toBe(3);
    expect(manifest.language).toBe("javascript");
    expect(manifest.scripts.build).toBe("npm run build");
  });

  it("declares the backend the edge code fetches through, pointed at index.crates.io", () => {
    expect(manifest.local_server.backends[CRATES_IO_BACKEND]).toEqual({
      url: CRATES_IO_INDEX_ORIGIN,
      override_host: "index.crates.io",
    });
    expect(manifest.setup.backends[CRATES_IO_BACKEND]).toMatchObject({ address: "index.crates.io", port: 443 });
  });

  it("declares the KV store and the Config Store the edge code opens, locally and for setup", () => {
    expect(Object.keys(manifest.local_server.kv_stores)).toEqual([PUBLISH_TIMES_STORE]);
    expect(Object.keys(manifest.setup.kv_stores)).toEqual([PUBLISH_TIMES_STORE]);
    expect(Object.keys(manifest.local_server.config_stores)).toEqual([CONFIG_STORE]);
    expect(Object.keys(manifest.setup.config_stores)).toEqual([CONFIG_STORE]);
  });
});

describe("the local stores fastly compute serve reads", () => {
  it("hold publish-time records in the core codec's exact encoding, each under its crate's name", () => {
    const { file, format } = manifest.local_server.kv_stores[PUBLISH_TIMES_STORE] ?? { file: "", format: "" };
    expect(format).toBe("json");
    const {
      [FRESHNESS_KV_KEY]: freshness,
      [POLICY_KV_KEY]: policy,
      ...crates
    } = JSON.parse(readText(file)) as Record<string, string>;
    // `kv export` also writes the freshness (and policy) keys; a regenerated file must still be readable by the edge.
    if (freshness !== undefined) decodeFreshness(freshness);
    if (policy !== undefined) decodePolicy(policy);
    const entries = Object.entries(crates);
    expect(entries.length).toBeGreaterThan(0);
    for (const [key, value] of entries) {
      const record = decodeCrateRecord(value);
      expect(record.crate).toBe(key);
      expect(encodeCrateRecord(record)).toBe(value);
    }
  });

  it("hold edge settings the edge reads without complaint, the same values setup creates", () => {
    const { file } = manifest.local_server.config_stores[CONFIG_STORE] ?? { file: "" };
    const local = JSON.parse(readText(file)) as Record<string, string>;
    const warnings: string[] = [];
    const original = console.warn;
    console.warn = (message: string) => warnings.push(message);
    try {
      parseEdgeSettings((key) => local[key] ?? null);
    } finally {
      console.warn = original;
    }
    expect(warnings).toEqual([]);
    const setupItems = manifest.setup.config_stores[CONFIG_STORE]?.items ?? {};
    expect(Object.fromEntries(Object.entries(setupItems).map(([key, item]) => [key, item.value]))).toEqual(local);
  });
});
