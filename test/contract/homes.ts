/**
 * The proxy's homes, started the same way against the same data, so one suite can hold them all to the README:
 *
 *   const home = await startHome("edge-memory", { upstream: fixture.url });
 *   home.recordTimes([{ crate: "anyhow", version: "1.0.0", publishedAt: t }]);   // as the ingest job records them
 *   await fetch(`${home.url}7d/an/yh/anyhow`);
 *   home.requests;                                                                // what the home answered, in order
 *
 * - `node`: `startCooldownServer` reading the SQLite timestamp database directly.
 * - `edge-memory` / `edge-unsupported`: the edge wasm built for this run (inject("edgeWasmPath")) under the local
 *   Compute host (test/compute-host/), with and without the HTTP Cache API. Its KV store `cooldown_times` holds what
 *   `kv export` writes from the same kind of database (`exportKvStore`, read back as JSON), exported again after every
 *   change; its backend `crates_io_index` is the upstream; its Config Store `cooldown_config` holds the settings.
 *
 * Every home sits behind a tiny recording front on 127.0.0.1 that passes requests and answers through unchanged and
 * notes method, path (as sent) and status (0 when the home cut the connection without answering): one request log
 * for every home. Each home, its front and its database stop by themselves after `lifetimeMs` (unref'd timers), and
 * `close()` stops them at once.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inject } from "vitest";
import { ingestAdvisories } from "../../src/advisories/ingest-advisories.ts";
import { defaultRules } from "../../src/core/policy.ts";
import type { Policy } from "../../src/core/policy-document.ts";
import type { CrateOwnerAddition } from "../../src/core/trust-signals.ts";
import { exportKvStore } from "../../src/kv/kv-export.ts";
import { startCooldownServer } from "../../src/server/start-server.ts";
import { type ProvenanceReport, recordProvenance } from "../../src/store/provenance-reports.ts";
import { type PublishTimeRow, TimestampDatabase } from "../../src/store/timestamp-database.ts";
import { startComputeHost } from "../compute-host/compute-host.ts";
import { type GeneratedAdvisory, writeAdvisoryDbFolder } from "../support/advisory-db-generator.ts";

export type HomeKind = "node" | "edge-memory" | "edge-unsupported";

const ALL_HOMES: readonly HomeKind[] = ["node", "edge-memory", "edge-unsupported"];

/**
 * Every home, in the order suites run them. `CONTRACT_HOMES=node,edge-memory` narrows a local run to some of them
 * (unset in CI: every home runs).
 */
export const HOMES: readonly HomeKind[] = process.env.CONTRACT_HOMES
  ? ALL_HOMES.filter((kind) => (process.env.CONTRACT_HOMES ?? "").split(",").includes(kind))
  : ALL_HOMES;

/** The KV store, Config Store and backend names the edge is deployed with (fastly.toml, src/edge/). */
export const EDGE_KV_STORE = "cooldown_times";
export const EDGE_CONFIG_STORE = "cooldown_config";
export const EDGE_BACKEND = "crates_io_index";

export interface HomeSettings {
  /**
   * The pre-pubtime inference (`--pre-pubtime-inference` on Node, Config Store `pre_pubtime_inference` at the edge).
   * Default `off` for both: the homes' own defaults differ on purpose (Node's `auto` is off for any upstream but
   * crates.io; the edge's default is on, its backend being crates.io), and a fake upstream is not crates.io.
   */
  readonly prePubtimeInference?: "on" | "off";
  /**
   * Decide as for crates.io: trust signals apply (the edge's backend is crates.io, so it always does; Node does for
   * `https://index.crates.io` only, so a fake upstream needs this). Default: off, as Node is for a fake upstream.
   */
  readonly cratesIoRules?: boolean;
  /** Config Store `upstream_max_ttl_seconds` (edge only: Node's cache follows upstream's own lifetime). */
  readonly upstreamMaxTtlSeconds?: number;
}

export interface HomeOptions {
  /** Root of the upstream sparse index, e.g. `http://127.0.0.1:PORT` (no trailing slash needed). */
  readonly upstream: string;
  /** The clock the home decides by, in Unix seconds (the edge's guest sees it in ms). Default: the system clock. */
  readonly clock?: () => number;
  readonly policy?: Policy;
  readonly settings?: HomeSettings;
  /** How long the home waits for upstream before answering 503 (Node: `upstreamTimeoutMs`; edge: the backend's first-byte timeout). */
  readonly upstreamTimeoutMs?: number;
  /** The home stops by itself after this long (default 10 minutes). */
  readonly lifetimeMs?: number;
  /**
   * Edge homes: every change of the KV data (times, advisories, meta, policy) also empties the host's Core Cache, as a
   * purge after `kv push` would, so the next request decides from the new data (what the Node home does by itself).
   * Default true; the answer-cache suite turns it off to hold the edge to its documented bounds (30 s for a policy,
   * the answer's max-age for times).
   */
  readonly purgeEdgeCachesOnChange?: boolean;
}

export interface AnsweredRequest {
  readonly method: string;
  /** The request target as the client sent it (path and query, not normalised). */
  readonly path: string;
  readonly status: number;
}

export interface RunningHome {
  readonly kind: HomeKind;
  /** Base URL ending in `/`: `${url}7d/` is a registry cargo can use. */
  readonly url: string;
  /** Records publish times in the home's timestamp database, as the ingest job does (the edge's KV follows). */
  recordTimes(rows: readonly PublishTimeRow[]): void;
  /** The RustSec advisory database is now exactly these advisories (`ingest advisories`; the edge's KV follows). */
  setAdvisories(advisories: readonly GeneratedAdvisory[]): Promise<void>;
  /** Records who published versions and who owns crates, as the dump or the API lookups do (the edge's KV follows). */
  recordProvenance(
    reports: readonly ProvenanceReport[],
    owners?: ReadonlyMap<string, readonly CrateOwnerAddition[]>,
  ): void;
  /** Writes a `meta` key (freshness bookkeeping, src/store/meta-keys.ts) as the ingest job does (the edge's `_freshness` follows). */
  setMeta(key: string, value: string): void;
  /** Decide under this policy from the next request on (Node: `usePolicy`; edge: `_policy` as `kv export --policy` writes it). */
  setPolicy(policy: Policy): void;
  /**
   * Edge homes: put raw text under a KV key (kept across later exports; `null` removes the override), to serve records
   * `kv export` would never write. Null on Node, which reads rows from SQLite and has no record format.
   */
  readonly rawKv: ((key: string, value: string | null) => void) | null;
  /** Every request the home answered, oldest first. */
  readonly requests: readonly AnsweredRequest[];
  /** Lines the home logged (Node: access and error lines; edge: the host's log). For failure messages. */
  readonly log: readonly string[];
  close(): Promise<void>;
}

const DEFAULT_LIFETIME_MS = 600_000;

/** The home behind the recording front. */
interface InnerHome {
  readonly url: string;
  readonly sync: () => void;
  readonly usePolicy: (policy: Policy) => void;
  readonly rawKv: RunningHome["rawKv"];
  /** Resolves when the home has finished all work for the requests answered so far (edge: instances ended). */
  readonly settled?: () => Promise<void>;
}

export async function startHome(kind: HomeKind, options: HomeOptions): Promise<RunningHome> {
  const lifetimeMs = options.lifetimeMs ?? DEFAULT_LIFETIME_MS;
  const scratch = mkdtempSync(join(tmpdir(), `crates-cooldown-home-${kind}-`));
  const dbPath = join(scratch, "timestamps.sqlite");
  const database = new TimestampDatabase(dbPath);
  const log: string[] = [];
  let policy: Policy | undefined = options.policy;
  const prePubtimeInference = options.settings?.prePubtimeInference ?? "off";
  const cleanups: (() => Promise<void> | void)[] = [
    () => database.close(),
    () => rmSync(scratch, { recursive: true, force: true }),
  ];
  let advisoryRuns = 0;

  let inner: InnerHome;
  try {
    if (kind === "node") {
      const clock = options.clock;
      const server = await startCooldownServer({
        listen: "127.0.0.1:0",
        upstream: options.upstream,
        dbPath,
        prePubtimeInference,
        ...(options.settings?.cratesIoRules ? { rules: defaultRules(true, prePubtimeInference === "on") } : {}),
        log: (line) => log.push(line),
        ...(clock === undefined ? {} : { clock: { now: () => Math.floor(clock()) } }),
        ...(policy === undefined ? {} : { policy }),
        ...(options.upstreamTimeoutMs === undefined ? {} : { upstreamTimeoutMs: options.upstreamTimeoutMs }),
      });
      cleanups.unshift(() => server.close());
      inner = { url: server.url, sync: () => {}, usePolicy: (next) => server.usePolicy(next), rawKv: null };
    } else {
      inner = await startEdge(kind, options, { scratch, database, log, cleanups, policy: () => policy });
    }
  } catch (error) {
    for (const cleanup of cleanups) await cleanup();
    throw error;
  }

  const front = await startRecordingFront(inner.url, inner.settled);
  cleanups.unshift(() => front.close());

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      clearTimeout(watchdog);
      for (const cleanup of cleanups) {
        try {
          await cleanup();
        } catch {
          // Closing the rest matters more than one failure to close.
        }
      }
    })());
  const watchdog = setTimeout(() => void close(), lifetimeMs);
  watchdog.unref();

  return {
    kind,
    url: front.url,
    recordTimes(rows) {
      database.record(rows);
      inner.sync();
    },
    async setAdvisories(advisories) {
      const folder = join(scratch, `advisory-db-${++advisoryRuns}`);
      mkdirSync(folder);
      await ingestAdvisories(database, writeAdvisoryDbFolder(folder, advisories));
      inner.sync();
    },
    recordProvenance(reports, owners) {
      recordProvenance(database, reports, owners);
      inner.sync();
    },
    setMeta(key, value) {
      database.setMeta(key, value);
      inner.sync();
    },
    setPolicy(next) {
      policy = next;
      inner.usePolicy(next);
    },
    rawKv: inner.rawKv,
    requests: front.requests,
    log,
    close,
  };
}

/** The edge wasm under the local Compute host, its KV store filled by `kv export` from the home's database. */
async function startEdge(
  kind: "edge-memory" | "edge-unsupported",
  options: HomeOptions,
  home: {
    scratch: string;
    database: TimestampDatabase;
    log: string[];
    cleanups: (() => Promise<void> | void)[];
    policy: () => Policy | undefined;
  },
): Promise<InnerHome> {
  const exportPath = join(home.scratch, "kv-export.json");
  const overrides = new Map<string, string>();
  const kvContent = (): Record<string, string> => {
    exportKvStore(home.database, exportPath, home.policy());
    const entries = JSON.parse(readFileSync(exportPath, "utf8")) as Record<string, string>;
    for (const [key, value] of overrides) entries[key] = value;
    return entries;
  };
  const config: Record<string, string> = { pre_pubtime_inference: options.settings?.prePubtimeInference ?? "off" };
  if (options.settings?.upstreamMaxTtlSeconds !== undefined)
    config.upstream_max_ttl_seconds = String(options.settings.upstreamMaxTtlSeconds);
  const clock = options.clock;
  const host = await startComputeHost({
    wasmPath: inject("edgeWasmPath"),
    listen: "127.0.0.1:0",
    backends: {
      [EDGE_BACKEND]: {
        url: options.upstream,
        ...(options.upstreamTimeoutMs === undefined ? {} : { firstByteTimeoutMs: options.upstreamTimeoutMs }),
      },
    },
    kvStores: { [EDGE_KV_STORE]: kvContent() },
    configStores: { [EDGE_CONFIG_STORE]: config },
    httpCache: kind === "edge-memory" ? "memory" : "unsupported",
    ...(clock === undefined ? {} : { clock: () => clock() * 1000 }),
    log: (line: string) => home.log.push(line),
  });
  home.cleanups.unshift(() => host.close());
  const purge = options.purgeEdgeCachesOnChange ?? true;
  const sync = () => {
    host.replaceKvStore(EDGE_KV_STORE, kvContent());
    if (purge) host.clearCoreCache();
  };
  return {
    url: host.url,
    settled: () => host.settled(),
    sync,
    usePolicy: () => sync(),
    rawKv: (key, value) => {
      if (value === null) overrides.delete(key);
      else overrides.set(key, value);
      sync();
    },
  };
}

/** Headers that belong to one connection, never forwarded (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

/**
 * A pass-through front on 127.0.0.1 that records what the home answered: the request target goes on exactly as sent
 * (no normalisation of `..` or `%2e%2e`), bodies and end-to-end headers pass unchanged both ways, and a body the home
 * cuts short is cut short for the client too.
 */
async function startRecordingFront(
  target: string,
  settled?: () => Promise<void>,
): Promise<{ url: string; requests: AnsweredRequest[]; close: () => Promise<void> }> {
  const base = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const requests: AnsweredRequest[] = [];
  const server = createServer((clientRequest, clientResponse) => {
    const path = clientRequest.url ?? "/";
    const method = clientRequest.method ?? "GET";
    const forward = httpRequest(
      {
        host: base.hostname,
        port: base.port,
        method,
        path,
        agent,
        headers: { ...endToEnd(clientRequest.headers), host: base.host },
      },
      (homeResponse) => {
        const status = homeResponse.statusCode ?? 0;
        requests.push({ method, path, status });
        const writeHead = () =>
          clientResponse.writeHead(status, homeResponse.statusMessage, endToEnd(homeResponse.headers));
        if (settled === undefined) {
          writeHead();
          homeResponse.pipe(clientResponse);
          homeResponse.on("aborted", () => clientResponse.destroy());
          homeResponse.on("error", () => clientResponse.destroy());
          return;
        }
        // The client gets the answer once the home has also finished the request's work after it (the edge stores new
        // answers then): tests move the clock as soon as they have an answer, and time never jumps while an instance
        // still runs. A body the home cuts short still reaches the client cut short.
        const chunks: Buffer[] = [];
        homeResponse.on("data", (chunk: Buffer) => chunks.push(chunk));
        homeResponse.on("end", () => {
          void settled().then(() => {
            writeHead();
            clientResponse.end(Buffer.concat(chunks));
          });
        });
        const cut = () => {
          if (!clientResponse.headersSent) {
            writeHead();
            clientResponse.write(Buffer.concat(chunks));
          }
          clientResponse.destroy();
        };
        homeResponse.on("aborted", cut);
        homeResponse.on("error", cut);
      },
    );
    // The home cut the connection: the client sees the same cut (status 0 in the log: no answer).
    forward.on("error", () => {
      if (!clientResponse.headersSent) requests.push({ method, path, status: 0 });
      clientResponse.destroy();
    });
    clientRequest.pipe(forward);
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    requests,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      })),
  };
}
