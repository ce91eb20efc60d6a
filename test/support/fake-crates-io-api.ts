import { createServer, type IncomingMessage } from "node:http";
import { listenBounded } from "./bounded-loopback-server.ts";

/**
 * A fake of crates.io's web API, `GET /api/v1/crates/{name}/versions`, answering JSON shaped exactly as crates.io's own
 * test snapshots show it (src/tests/routes/crates/versions/snapshots/…list__versions-2.snap and
 * src/tests/krate/publish/snapshots/…trustpub_github__full_flow-9.snap in rust-lang/crates.io): every field of a
 * version, `published_by` a user object or null, `trustpub_data` `{provider, repository, run_id, sha}` or null,
 * `meta.next_page` a query string or null. Scripted faults answer before the real pages.
 */

export interface FakeApiVersion {
  readonly num: string;
  readonly createdAt: number;
  /** `[id, login]` of the publishing account, or null. */
  readonly publishedBy: readonly [number, string] | null;
  /** `[provider, repository]` for trusted publishing, or null. */
  readonly trustpub: readonly [string, string] | null;
}

export type FakeApiFault = { status: number; retryAfter?: string; body?: string };

export interface FakeCratesIoApi {
  readonly url: string;
  /** Every request: its path with query, its User-Agent, when it arrived (performance.now()). */
  readonly requests: { path: string; userAgent: string | undefined; at: number }[];
  /** The crate's versions, served `perPage` at a time. */
  setCrate(name: string, versions: readonly FakeApiVersion[], perPage?: number): void;
  /** Answers the next requests with these faults, in order, before any real page. */
  failNext(...faults: FakeApiFault[]): void;
  close(): Promise<void>;
}

export async function startFakeCratesIoApi(lifetimeMs = 60_000): Promise<FakeCratesIoApi> {
  const crates = new Map<string, { versions: readonly FakeApiVersion[]; perPage: number }>();
  const faults: FakeApiFault[] = [];
  const requests: FakeCratesIoApi["requests"] = [];
  const server = createServer((req: IncomingMessage, res) => {
    requests.push({ path: req.url ?? "", userAgent: req.headers["user-agent"], at: performance.now() });
    const fault = faults.shift();
    if (fault !== undefined) {
      res.writeHead(fault.status, {
        "content-type": "application/json",
        ...(fault.retryAfter === undefined ? {} : { "retry-after": fault.retryAfter }),
      });
      res.end(fault.body ?? '{"errors":[{"detail":"fault"}]}');
      return;
    }
    const url = new URL(req.url ?? "/", "http://fake");
    const match = /^\/api\/v1\/crates\/([^/]+)\/versions$/.exec(url.pathname);
    const crate = match === null ? undefined : crates.get(decodeURIComponent(match[1] as string));
    if (crate === undefined) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end('{"errors":[{"detail":"crate `nope` does not exist"}]}');
      return;
    }
    const from = Number(url.searchParams.get("seek") ?? "0");
    const page = crate.versions.slice(from, from + crate.perPage);
    const next =
      from + crate.perPage < crate.versions.length ? `?per_page=${crate.perPage}&seek=${from + crate.perPage}` : null;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        meta: { next_page: next, total: crate.versions.length },
        versions: page.map((v, k) => versionJson(match?.[1] ?? "", v, from + k + 1)),
      }),
    );
  });
  const { port, close } = await listenBounded(server, lifetimeMs);
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setCrate(name, versions, perPage = 100) {
      crates.set(name, { versions, perPage });
    },
    failNext(...next) {
      faults.push(...next);
    },
    close,
  };
}

function versionJson(crate: string, v: FakeApiVersion, id: number): Record<string, unknown> {
  const time = new Date(v.createdAt * 1000).toISOString().replace("Z", "+00:00");
  const user =
    v.publishedBy === null
      ? null
      : {
          avatar: null,
          created_at: "2019-01-01T00:00:00.000000+00:00",
          github_username_matches: true,
          id: v.publishedBy[0],
          login: v.publishedBy[1],
          name: null,
          url: `https://github.com/${v.publishedBy[1]}`,
        };
  return {
    audit_actions: user === null ? [] : [{ action: "publish", time, user }],
    bin_names: null,
    checksum: "0000000000000000000000000000000000000000000000000000000000000000",
    crate,
    crate_size: 0,
    created_at: time,
    description: null,
    dl_path: `/api/v1/crates/${crate}/${v.num}/download`,
    documentation: null,
    downloads: 0,
    edition: null,
    features: {},
    has_lib: null,
    homepage: null,
    id,
    lib_links: null,
    license: null,
    linecounts: { languages: {}, total_code_lines: 0, total_comment_lines: 0 },
    links: {
      authors: `/api/v1/crates/${crate}/${v.num}/authors`,
      dependencies: `/api/v1/crates/${crate}/${v.num}/dependencies`,
      version_downloads: `/api/v1/crates/${crate}/${v.num}/downloads`,
    },
    num: v.num,
    published_by: user,
    readme_path: `/api/v1/crates/${crate}/${v.num}/readme`,
    repository: null,
    rust_version: null,
    trustpub_data:
      v.trustpub === null
        ? null
        : { provider: v.trustpub[0], repository: v.trustpub[1], run_id: "example-run-id", sha: "example-sha" },
    updated_at: time,
    yank_message: null,
    yanked: false,
  };
}
