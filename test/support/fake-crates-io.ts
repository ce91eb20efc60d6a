/**
 * A fake crates.io for tests that need the real protocol over HTTP (cargo, the Node server, ingest, explain, lockfile
 * checks): the sparse index with cargo's paths, strong ETags and 304s, `config.json`, and real `.crate` downloads whose
 * sha256 is the line's `cksum`.
 *
 *   const fake = await startFakeCratesIo();
 *   await fake.publish({ name: "alpha", vers: "1.0.0", pubtime: daysAgo(30) });
 *   fake.yank("alpha", "1.0.0");
 *   // sparse+${fake.url}/ is a registry cargo can use directly; ${fake.url} is the proxy's upstream.
 *   await fake.close();
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { buildCrateTarball, type CrateContents, type CrateDependency } from "./crate-tarball.ts";

export type { CrateDependency } from "./crate-tarball.ts";

/**
 * A publish time for `publish`: a `Date`, Unix seconds, or a raw string written into `pubtime` verbatim (to serve a
 * malformed one). `null`/absent writes no `pubtime`.
 */
export type FakePubtime = Date | number | string | null;

export interface FakePublish extends CrateContents {
  readonly yanked?: boolean;
  readonly pubtime?: FakePubtime;
}

export interface FakeVersion {
  readonly name: string;
  readonly vers: string;
  readonly cksum: string;
  readonly crateBytes: Uint8Array;
  /** The `pubtime` text on the line, or null when the line has none. */
  readonly pubtime: string | null;
  readonly yanked: boolean;
  /** The index line (without its newline) as served while `pubtime` is served. */
  readonly line: string;
}

export interface FakeRequest {
  readonly method: string;
  /** Path and query as requested, e.g. `/3/a/abc` or `/api/v1/crates/abc/1.0.0/download`. */
  readonly path: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface FakeCratesIoOptions {
  /** Write `pubtime` on lines that have one (default true); false serves every file as a pre-`pubtime` registry would. */
  readonly servePubtime?: boolean;
  /** `max-age` of index files (default 0: clients and caches revalidate every time, so changes show at once). */
  readonly maxAgeSeconds?: number;
  /** `"api"`: `dl` is `<url>/api/v1/crates` (cargo appends `/{crate}/{version}/download`); `"template"`: a `dl` with markers. */
  readonly downloads?: "api" | "template";
  /** gzip index files and config.json when the client accepts it, as crates.io's CDN does (default false). */
  readonly gzip?: boolean;
  /** Stops serving after this long (default 5 minutes), so a hung test can never leave a server behind. */
  readonly timeoutMs?: number;
  /** Answers 503 and stops serving after this many requests (default 10,000). */
  readonly maxRequests?: number;
}

/** A fault to answer instead of an index file, e.g. `{ status: 503, retryAfter: "1", times: 1 }`. */
export interface FakeFault {
  readonly status: number;
  readonly retryAfter?: string;
  /** How many requests get the fault (default: all until cleared). */
  readonly times?: number;
}

export interface FakeCratesIo {
  /** `http://127.0.0.1:PORT`, no trailing slash. Upstream base for the proxy; `<url>/` is the sparse index root. */
  readonly url: string;
  /** Publishes a version: builds its `.crate`, appends its line (crates.io keeps lines in publish order). */
  publish(version: FakePublish): Promise<FakeVersion>;
  yank(name: string, vers: string): void;
  unyank(name: string, vers: string): void;
  /**
   * Replaces a line's `pubtime` in place. crates.io never does this; tests use it to move a version's age without a
   * clock (the file, and so its ETag, changes too).
   */
  setPubtime(name: string, vers: string, pubtime: FakePubtime): void;
  /** Serve `pubtime` or not, from the next request on. */
  setServePubtime(serve: boolean): void;
  /** Answers index requests for this crate with a fault until cleared (`null`). */
  setFault(name: string, fault: FakeFault | null): void;
  /** The exact body served for a crate's index file, or null when the crate is unknown. */
  indexFile(name: string): string | null;
  versions(name: string): readonly FakeVersion[];
  /** The sparse index path of a crate (`3/a/abc`). */
  indexPathOf(name: string): string;
  /** Every request answered so far, oldest first. */
  readonly requests: readonly FakeRequest[];
  close(): Promise<void>;
}

/** Unix seconds `days` days before now (fractions allowed), for `pubtime`. */
export function daysAgo(days: number, now: number = Date.now() / 1000): number {
  return Math.floor(now - days * 86_400);
}

/** cargo's index path for a crate name: `1/a`, `2/ab`, `3/a/abc`, `ab/cd/abcd`, always lowercased. */
export function sparseIndexPath(name: string): string {
  const n = name.toLowerCase();
  if (n.length === 1) return `1/${n}`;
  if (n.length === 2) return `2/${n}`;
  if (n.length === 3) return `3/${n[0]}/${n}`;
  return `${n.slice(0, 2)}/${n.slice(2, 4)}/${n}`;
}

/** `YYYY-MM-DDThh:mm:ssZ`, the only `pubtime` shape cargo accepts. */
export function formatPubtime(at: Date | number): string {
  const ms = at instanceof Date ? at.getTime() : at * 1000;
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

interface StoredVersion {
  contents: CrateContents;
  cksum: string;
  crateBytes: Uint8Array;
  yanked: boolean;
  pubtime: string | null;
}

/** Starts a fake crates.io on 127.0.0.1 (a free port): sparse index, config.json and `.crate` downloads. */
export async function startFakeCratesIo(options: FakeCratesIoOptions = {}): Promise<FakeCratesIo> {
  const maxAge = options.maxAgeSeconds ?? 0;
  const maxRequests = options.maxRequests ?? 10_000;
  let servePubtime = options.servePubtime ?? true;
  // Keyed by lowercased name: the index has one file per lowercased name, whatever case the crate was published in.
  const crates = new Map<string, StoredVersion[]>();
  const faults = new Map<string, { fault: FakeFault; left: number }>();
  const requests: FakeRequest[] = [];
  let url = "";
  let closed = false;

  function lineOf(v: StoredVersion, withPubtime: boolean): string {
    const { contents } = v;
    const { features, features2 } = splitFeatures(contents.features ?? {});
    // crates.io's field order (crates_io_index::Crate); optional fields are left out when absent.
    const entry: Record<string, unknown> = {
      name: contents.name,
      vers: contents.vers,
      deps: sortDeps(contents.deps ?? []).map(indexDependency),
      cksum: v.cksum,
      features,
    };
    if (features2 !== null) entry.features2 = features2;
    entry.yanked = v.yanked;
    if (contents.links !== undefined) entry.links = contents.links;
    if (contents.rust_version !== undefined) entry.rust_version = contents.rust_version;
    if (withPubtime && v.pubtime !== null) entry.pubtime = v.pubtime;
    if (features2 !== null) entry.v = 2;
    return JSON.stringify(entry);
  }

  function indexFile(name: string): string | null {
    const versions = crates.get(name.toLowerCase());
    if (versions === undefined || versions.length === 0) return null;
    return versions.map((v) => `${lineOf(v, servePubtime)}\n`).join("");
  }

  function find(name: string, vers: string): StoredVersion {
    const found = crates.get(name.toLowerCase())?.find((v) => v.contents.vers === vers);
    if (found === undefined) throw new Error(`fake crates.io has no ${name} ${vers}`);
    return found;
  }

  function configJson(): string {
    const dl =
      options.downloads === "template" ? `${url}/crates/{crate}/{crate}-{version}.crate` : `${url}/api/v1/crates`;
    // Pretty-printed with 2 spaces, like crates.io's.
    return `${JSON.stringify({ dl, api: url }, null, 2)}\n`;
  }

  function download(name: string, vers: string): Uint8Array | null {
    return crates.get(name.toLowerCase())?.find((v) => v.contents.vers === vers)?.crateBytes ?? null;
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const path = req.url ?? "/";
    const pathname = path.split("?", 1)[0] as string;
    const answer = (status: number, body: string | Uint8Array, headers: Record<string, string> = {}): void => {
      requests.push({ method: req.method ?? "", path, status, headers: { ...req.headers } });
      const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.from(body);
      res.writeHead(status, status === 304 ? headers : { "content-length": String(bytes.byteLength), ...headers });
      res.end(req.method === "HEAD" || status === 304 ? undefined : bytes);
    };
    if (requests.length >= maxRequests) {
      answer(503, "fake crates.io: request limit reached\n", { "content-type": "text/plain" });
      void close();
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      answer(405, "read-only\n", { allow: "GET, HEAD" });
      return;
    }
    if (pathname === "/config.json") {
      serveIndexText(req, answer, configJson(), "application/json");
      return;
    }
    const apiDownload = /^\/api\/v1\/crates\/([^/]+)\/([^/]+)\/download$/.exec(pathname);
    const templateDownload = /^\/crates\/([^/]+)\/([^/]+)$/.exec(pathname);
    if (apiDownload !== null || (options.downloads === "template" && templateDownload !== null)) {
      let name: string;
      let vers: string;
      if (apiDownload !== null) {
        [name, vers] = [decodeURIComponent(apiDownload[1] as string), decodeURIComponent(apiDownload[2] as string)];
      } else {
        name = decodeURIComponent((templateDownload as RegExpExecArray)[1] as string);
        const file = decodeURIComponent((templateDownload as RegExpExecArray)[2] as string);
        vers =
          file.startsWith(`${name}-`) && file.endsWith(".crate") ? file.slice(name.length + 1, -".crate".length) : "";
      }
      const bytes = download(name, vers);
      if (bytes === null) answer(404, `no crate ${name} ${vers}\n`, { "content-type": "text/plain" });
      else
        answer(200, bytes, {
          "content-type": "application/gzip",
          "cache-control": "public, max-age=31536000, immutable",
        });
      return;
    }
    const name = pathname.slice(pathname.lastIndexOf("/") + 1);
    // Only the path cargo would request is a file; anything else is unknown, as on the real CDN.
    if (name === "" || `/${sparseIndexPath(name)}` !== pathname || name !== name.toLowerCase()) {
      answer(404, "not found\n", { "content-type": "text/plain" });
      return;
    }
    const fault = faults.get(name);
    if (fault !== undefined) {
      if (--fault.left <= 0) faults.delete(name);
      answer(fault.fault.status, `fake fault ${fault.fault.status}\n`, {
        "content-type": "text/plain",
        ...(fault.fault.retryAfter !== undefined ? { "retry-after": fault.fault.retryAfter } : {}),
      });
      return;
    }
    const text = indexFile(name);
    if (text === null) {
      answer(404, "not found\n", { "content-type": "text/plain" });
      return;
    }
    serveIndexText(req, answer, text, "text/plain");
  }

  function serveIndexText(
    req: IncomingMessage,
    answer: (status: number, body: string | Uint8Array, headers?: Record<string, string>) => void,
    text: string,
    contentType: string,
  ): void {
    const etag = `"${createHash("sha256").update(text).digest("hex").slice(0, 32)}"`;
    const headers: Record<string, string> = {
      etag,
      "cache-control": `public, max-age=${maxAge}`,
      "content-type": contentType,
    };
    const inm = req.headers["if-none-match"];
    if (inm?.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag)) {
      answer(304, "", headers);
      return;
    }
    if (options.gzip === true && /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""))) {
      answer(200, gzipSync(text), { ...headers, "content-encoding": "gzip", vary: "accept-encoding" });
      return;
    }
    answer(200, text, headers);
  }

  const server = createServer(handle);
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const deadline = setTimeout(() => void close(), options.timeoutMs ?? 300_000);
  deadline.unref();

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    clearTimeout(deadline);
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  return {
    url,
    async publish(version) {
      const key = version.name.toLowerCase();
      const existing = crates.get(key) ?? [];
      if (existing.some((v) => v.contents.vers === version.vers))
        throw new Error(`${version.name} ${version.vers} is already published`);
      const { yanked, pubtime, ...contents } = version;
      const tarball = await buildCrateTarball(contents);
      const stored: StoredVersion = {
        contents,
        cksum: tarball.cksum,
        crateBytes: tarball.bytes,
        yanked: yanked ?? false,
        pubtime: pubtimeText(pubtime),
      };
      existing.push(stored);
      crates.set(key, existing);
      return snapshot(stored);
    },
    yank(name, vers) {
      find(name, vers).yanked = true;
    },
    unyank(name, vers) {
      find(name, vers).yanked = false;
    },
    setPubtime(name, vers, pubtime) {
      find(name, vers).pubtime = pubtimeText(pubtime);
    },
    setServePubtime(serve) {
      servePubtime = serve;
    },
    setFault(name, fault) {
      if (fault === null) faults.delete(name.toLowerCase());
      else faults.set(name.toLowerCase(), { fault, left: fault.times ?? Number.POSITIVE_INFINITY });
    },
    indexFile,
    versions(name) {
      return (crates.get(name.toLowerCase()) ?? []).map(snapshot);
    },
    indexPathOf: sparseIndexPath,
    requests,
    close,
  };

  function snapshot(v: StoredVersion): FakeVersion {
    return {
      name: v.contents.name,
      vers: v.contents.vers,
      cksum: v.cksum,
      crateBytes: v.crateBytes,
      pubtime: v.pubtime,
      yanked: v.yanked,
      line: lineOf(v, true),
    };
  }
}

function pubtimeText(pubtime: FakePubtime | undefined): string | null {
  if (pubtime === undefined || pubtime === null) return null;
  return typeof pubtime === "string" ? pubtime : formatPubtime(pubtime);
}

/**
 * crates.io moves features that use the newer syntax (`dep:x`, `x?/f`) into `features2` (and then writes `v: 2`), so
 * that cargo older than 1.60 can still read the line. Feature keys are sorted, as in its BTreeMap.
 */
function splitFeatures(all: Readonly<Record<string, readonly string[]>>): {
  features: Record<string, readonly string[]>;
  features2: Record<string, readonly string[]> | null;
} {
  const features: Record<string, readonly string[]> = {};
  const features2: Record<string, readonly string[]> = {};
  for (const key of Object.keys(all).sort()) {
    const values = all[key] as readonly string[];
    const modern = values.some((value) => value.startsWith("dep:") || value.includes("?/"));
    (modern ? features2 : features)[key] = values;
  }
  return { features, features2: Object.keys(features2).length > 0 ? features2 : null };
}

const KIND_ORDER = { normal: 0, build: 1, dev: 2 } as const;

/** crates.io sorts dependencies by name, then kind (normal first): older cargo misread the other order. */
function sortDeps(deps: readonly CrateDependency[]): CrateDependency[] {
  return [...deps].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : KIND_ORDER[a.kind ?? "normal"] - KIND_ORDER[b.kind ?? "normal"],
  );
}

/** One `deps[]` entry with cargo's key order: name, req, features, optional, default_features, target, kind, [registry], [package]. */
function indexDependency(dep: CrateDependency): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: dep.name,
    req: dep.req,
    features: dep.features ?? [],
    optional: dep.optional ?? false,
    default_features: dep.default_features ?? true,
    target: dep.target ?? null,
    kind: dep.kind ?? "normal",
  };
  if (dep.registry !== undefined) out.registry = dep.registry;
  if (dep.package !== undefined) out.package = dep.package;
  return out;
}
