import { createServer } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { indexFile } from "../server/index-lines.ts";
import { listenBounded } from "../support/bounded-loopback-server.ts";
import { sparseIndexPath } from "../support/fake-crates-io.ts";
import { FixtureUpstream } from "../support/fixture-upstream.ts";
import { type Answer, closeClient, resourceHeaders, send } from "./client.ts";
import { HOMES, type RunningHome, startHome } from "./homes.ts";

// The README's routes, status codes and headers, held against every home with the same expectations: one fixture
// upstream for the file, one home per kind, a distinct crate per test. The homes decide at a pinned instant T0.

const T0 = Math.floor(Date.now() / 1000);
const DAY = 86_400;
const UPSTREAM_TIMEOUT_MS = 2_000;
const LIFETIME_MS = 300_000;
const rfc3339 = (at: number) => new Date(at * 1000).toISOString().replace(".000Z", "Z");

const CONFIG_JSON = '{\n  "dl": "https://static.crates.io/crates",\n  "api": "https://crates.io"\n}\n';

let upstream: FixtureUpstream;
/** Serves `body` as crate `name`'s index file; returns the home-relative path under `window`. */
function serve(
  name: string,
  body: string | Buffer,
  extra: Omit<Parameters<FixtureUpstream["set"]>[1], "body"> = {},
): string {
  upstream.set(`/${sparseIndexPath(name)}`, { body, ...extra });
  return sparseIndexPath(name);
}

/** kept 1.0.0 and 1.2.0; hidden: 1.1.0 yanked, 1.3.0 of unknown age, 1.4.0 two days old, one unreadable line. */
const MIXED = indexFile("mixed", [
  { vers: "1.0.0", publishedAt: T0 - 30 * DAY },
  { vers: "1.1.0", publishedAt: T0 - 20 * DAY, yanked: true },
  { vers: "1.2.0", publishedAt: T0 - 10 * DAY },
  { vers: "1.3.0" },
  { vers: "1.4.0", publishedAt: T0 - 2 * DAY },
]).replace(/\n$/, "\nthis line is not JSON\n");
const MIXED_LINES = MIXED.split("\n");

beforeAll(async () => {
  upstream = await FixtureUpstream.start({ lifetimeMs: LIFETIME_MS });
  upstream.set("/config.json", {
    body: CONFIG_JSON,
    headers: { "content-type": "application/json", "cache-control": "public, max-age=300" },
  });
  serve("mixed", MIXED, { headers: { "cache-control": "public, max-age=300" } });
});

afterAll(async () => {
  await upstream?.close();
  closeClient();
});

describe.each(HOMES)("the %s home", (kind) => {
  let home: RunningHome;
  const get = (target: string, headers: Record<string, string> = {}) => send(home.url, target, { headers });
  const head = (target: string, headers: Record<string, string> = {}) =>
    send(home.url, target, { method: "HEAD", headers });
  /** Fails with what the home logged, which says more than a status. */
  const explainFailure = (answer: Answer) =>
    `${answer.status} ${answer.text}\n--- ${kind} log ---\n${home.log.slice(-20).join("\n")}`;

  beforeAll(async () => {
    home = await startHome(kind, {
      upstream: upstream.url,
      clock: () => T0,
      upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS,
      lifetimeMs: LIFETIME_MS,
    });
  });
  afterAll(async () => {
    await home?.close();
  });

  describe("200", () => {
    it("serves the filtered file: visible lines byte for byte in upstream order, hidden lines dropped whole", async () => {
      const answer = await get(`7d/${sparseIndexPath("mixed")}`);
      expect(answer.status, explainFailure(answer)).toBe(200);
      expect(answer.text).toBe(`${MIXED_LINES[0]}\n${MIXED_LINES[2]}\n`);
      expect(answer.headers["content-type"]).toBe("text/plain; charset=utf-8");
      expect(answer.headers["content-length"]).toBe(String(answer.body.byteLength));
      expect(answer.headers.etag).toMatch(/^"[^"]+"$/);
    });

    it("says what it did in X-Cooldown, with the moment the next hidden version matures", async () => {
      const answer = await get(`7d/${sparseIndexPath("mixed")}`);
      expect(answer.headers["x-cooldown"]).toBe(
        `window=7d; kept=2; hidden=4; too-young=1; yanked=1; unknown-age=1; unreadable=1; next-visible=${rfc3339(T0 + 5 * DAY)}`,
      );
    });

    it("decides by hours under /36h/ and by days under /3d/", async () => {
      serve(
        "hourly",
        indexFile("hourly", [
          { vers: "1.0.0", publishedAt: T0 - 40 * 3_600 },
          { vers: "1.1.0", publishedAt: T0 - 30 * 3_600 },
        ]),
      );
      const hours = await get(`36h/${sparseIndexPath("hourly")}`);
      expect(
        hours.text
          .split("\n")
          .filter(Boolean)
          .map((line) => (JSON.parse(line) as { vers: string }).vers),
      ).toEqual(["1.0.0"]);
      expect(hours.headers["x-cooldown"]).toMatch(/^window=36h; kept=1; hidden=1; too-young=1;/);
      const days = await get(`3d/${sparseIndexPath("hourly")}`);
      expect(days.status).toBe(200);
      expect(days.body.byteLength).toBe(0);
    });

    it("answers an empty 200 with its own ETag and X-Cooldown when every version is hidden", async () => {
      const path = serve("all-young", indexFile("all-young", [{ vers: "0.1.0", publishedAt: T0 - DAY }]), {
        headers: { "cache-control": "public, max-age=300" },
      });
      const answer = await get(`7d/${path}`);
      expect(answer.status, explainFailure(answer)).toBe(200);
      expect(answer.body.byteLength).toBe(0);
      expect(answer.headers["content-length"]).toBe("0");
      expect(answer.headers.etag).toMatch(/^"[^"]+"$/);
      expect(answer.headers["x-cooldown"]).toBe(
        `window=7d; kept=0; hidden=1; too-young=1; yanked=0; unknown-age=0; unreadable=0; next-visible=${rfc3339(T0 + 6 * DAY)}`,
      );
      const again = await get(`7d/${path}`, { "if-none-match": answer.headers.etag ?? "" });
      expect(again.status).toBe(304);
    });

    it("passes /0d/ through untouched: upstream's bytes and its ETag and Cache-Control", async () => {
      const answer = await get(`0d/${sparseIndexPath("mixed")}`);
      expect(answer.status, explainFailure(answer)).toBe(200);
      expect(answer.text).toBe(MIXED);
      const direct = await send(upstream.url, sparseIndexPath("mixed"));
      expect(answer.headers.etag).toBe(direct.headers.etag);
      expect(answer.headers["cache-control"]).toBe("public, max-age=300");
      // Upstream sends this file without a Content-Type; untouched means none is added.
      expect(answer.headers["content-type"]).toBe(direct.headers["content-type"]);
      expect(answer.headers["x-cooldown"]).toBeUndefined();
    });

    // The README promises upstream's answer on /0d/, not a 304 of the proxy's own: Node answers 304 (its cache or
    // upstream's); the edge with the HTTP Cache API answers 200 with the same bytes and tag from its cache.
    it("answers a /0d/ client's If-None-Match with upstream's 304 or upstream's same file and tag", async () => {
      const name = `revalidated-${kind}`;
      const path = serve(name, indexFile(name, [{ vers: "1.0.0", publishedAt: T0 - DAY }]));
      const first = await get(`0d/${path}`);
      const again = await get(`0d/${path}`, { "if-none-match": first.headers.etag ?? "" });
      expect(again.headers.etag).toBe(first.headers.etag);
      if (again.status === 304) expect(again.body.byteLength).toBe(0);
      else expect({ status: again.status, body: again.text }).toEqual({ status: 200, body: first.text });
    });

    it("sends the client's User-Agent upstream as given", async () => {
      const name = `agent-${kind}`;
      const path = serve(name, indexFile(name, [{ vers: "1.0.0", publishedAt: T0 - 30 * DAY }]));
      const agent = "cargo/1.95.0 (f2d3ce0bd 2026-03-21)";
      expect((await get(`7d/${path}`, { "user-agent": agent })).status).toBe(200);
      expect(upstream.requestsFor(`/${path}`).map((request) => request.headers["user-agent"])).toEqual([agent]);
    });

    it.each(["7d", "0d", "36h", "30d"])("passes config.json through byte-identical under /%s/", async (window) => {
      const answer = await get(`${window}/config.json`);
      expect(answer.status, explainFailure(answer)).toBe(200);
      expect(answer.text).toBe(CONFIG_JSON);
      expect(answer.headers["content-type"]).toBe("application/json");
      expect(answer.headers.etag).toBe((await send(upstream.url, "config.json")).headers.etag);
    });

    it.each([
      ["a small file", "unicode-small", 3],
      ["a big file (the edge finds its plain lines in place)", "unicode-big", 1_400],
    ])("keeps lines of any characters byte for byte and reads their strings exactly: %s", async (_, name, count) => {
      const line = (vers: string, publishedAt: number) =>
        `${JSON.stringify({
          name,
          vers,
          deps: [],
          cksum: "0".repeat(64),
          features: { grüße: [], 日本語: ["🦀"] },
          yanked: false,
          pubtime: rfc3339(publishedAt),
        })}\n`;
      const kept = [
        ...Array.from({ length: count }, (_, patch) => line(`1.0.${patch}`, T0 - 30 * DAY)),
        // Not a version cargo would publish; still read exactly as written.
        line("2.0.0-ünï", T0 - 30 * DAY),
      ];
      const path = serve(name, kept.join("") + line("3.0.0", T0 - DAY), {
        headers: { "cache-control": "public, max-age=300" },
      });
      const answer = await get(`7d/${path}`);
      expect(answer.status, explainFailure(answer)).toBe(200);
      expect(Buffer.from(answer.body).equals(Buffer.from(kept.join("")))).toBe(true);
      const explained = await get(`7d/-/explain/${name}`, { accept: "application/json" });
      const versions = (JSON.parse(explained.text) as { versions: { version: string; visible: boolean }[] }).versions;
      expect(versions.slice(-2).map((v) => [v.version, v.visible])).toEqual([
        ["2.0.0-ünï", true],
        ["3.0.0", false],
      ]);
    });

    it("explains every version in plain text: publish time, its source, and the verdict", async () => {
      const answer = await get(`7d/-/explain/mixed`);
      expect(answer.status, explainFailure(answer)).toBe(200);
      expect(answer.headers["content-type"]).toBe("text/plain; charset=utf-8");
      expect(answer.headers["cache-control"]).toBe("no-store");
      const lines = answer.text.split("\n");
      expect(lines[0]).toBe(`mixed under /7d/ at ${rfc3339(T0)}: 2 of 6 versions visible`);
      expect(lines[1]).toMatch(/^VERSION\s+PUBLISHED\s+SOURCE\s+VISIBLE\s+REASON$/);
      expect(lines.slice(2, 8).map((line) => line.split(/\s{2,}/))).toEqual([
        ["1.0.0", rfc3339(T0 - 30 * DAY), "pubtime", "yes", `visible since ${rfc3339(T0 - 23 * DAY)}`],
        ["1.1.0", rfc3339(T0 - 20 * DAY), "pubtime", "no", "yanked"],
        ["1.2.0", rfc3339(T0 - 10 * DAY), "pubtime", "yes", `visible since ${rfc3339(T0 - 3 * DAY)}`],
        ["1.3.0", "unknown", "-", "no", "publish time unknown (hidden until the timestamp database learns it)"],
        ["1.4.0", rfc3339(T0 - 2 * DAY), "pubtime", "no", `too young until ${rfc3339(T0 + 5 * DAY)}`],
        ["(unreadable line)", "unknown", "-", "no", "line cannot be read as an index entry"],
      ]);
    });

    it("explains in JSON with Accept: application/json", async () => {
      const answer = await get(`7d/-/explain/Mixed`, { accept: "application/json" });
      expect(answer.status, explainFailure(answer)).toBe(200);
      expect(answer.headers["content-type"]).toBe("application/json");
      const explanation = JSON.parse(answer.text) as {
        crate: string;
        window: string;
        now: string;
        versions: Record<string, unknown>[];
      };
      expect(explanation).toMatchObject({ crate: "mixed", window: "7d", now: rfc3339(T0) });
      expect(explanation.versions.map((v) => [v.version, v.visible, v.reason, v.source, v.visible_at])).toEqual([
        ["1.0.0", true, null, "pubtime", rfc3339(T0 - 23 * DAY)],
        ["1.1.0", false, "yanked", "pubtime", null],
        ["1.2.0", true, null, "pubtime", rfc3339(T0 - 3 * DAY)],
        ["1.3.0", false, "unknown-publish-time", null, null],
        ["1.4.0", false, "too-young", "pubtime", rfc3339(T0 + 5 * DAY)],
        [null, false, "unreadable-line", null, null],
      ]);
    });

    it("answers /-/status in JSON: its home, the accepted windows, the rules and the data freshness", async () => {
      const answer = await get("-/status");
      expect(answer.status, explainFailure(answer)).toBe(200);
      expect(answer.headers["content-type"]).toBe("application/json");
      const status = JSON.parse(answer.text) as Record<string, unknown>;
      expect(status).toMatchObject({
        service: "crates-cooldown",
        home: kind === "node" ? "node" : "edge",
        now: rfc3339(T0),
        windows: { days: "0…30", hours: "1…720" },
        rules: {
          yanked: "hide",
          unknown_publish_time: "hide",
          exceptions: [],
          pre_pubtime_inference: { enabled: false },
        },
        data: { dump_watermark: null, last_feed_poll: null, feed_gap: null },
      });
      expect(status.version).toMatch(/^\d+\.\d+\.\d+/);
    });
  });

  describe("ETag, 304 and HEAD", () => {
    it("answers If-None-Match with 304 for its ETag, by weak comparison, in a list, and for *", async () => {
      const path = `7d/${sparseIndexPath("mixed")}`;
      const first = await get(path);
      const etag = first.headers.etag ?? "";
      for (const condition of [etag, `W/${etag}`, `"something-else", ${etag}`, "*"]) {
        const again = await get(path, { "if-none-match": condition });
        expect(again.status, `If-None-Match: ${condition}`).toBe(304);
        expect(again.body.byteLength).toBe(0);
        expect(again.headers.etag).toBe(etag);
        expect(again.headers["x-cooldown"]).toBe(first.headers["x-cooldown"]);
      }
      expect((await get(path, { "if-none-match": '"not-this-one"' })).status).toBe(200);
    });

    it("gives each window its own ETag when the visible set differs", async () => {
      const seven = await get(`7d/${sparseIndexPath("mixed")}`);
      const one = await get(`1d/${sparseIndexPath("mixed")}`);
      expect(one.text).not.toBe(seven.text);
      expect(one.headers.etag).not.toBe(seven.headers.etag);
      expect((await get(`1d/${sparseIndexPath("mixed")}`, { "if-none-match": seven.headers.etag ?? "" })).status).toBe(
        200,
      );
    });

    it.each([
      ["a filtered file", () => `7d/${sparseIndexPath("mixed")}`],
      ["an empty filtered file", () => `7d/${sparseIndexPath("all-young")}`],
      ["a /0d/ file", () => `0d/${sparseIndexPath("mixed")}`],
      ["config.json", () => "7d/config.json"],
      ["an explanation", () => "7d/-/explain/mixed"],
      ["the status", () => "-/status"],
      ["a bad path (404)", () => "7d/nope/mixed"],
      ["an unknown crate (404)", () => `7d/${sparseIndexPath("nowhere")}`],
    ])("answers HEAD of %s with the GET's status and headers and no body", async (_, target) => {
      const getAnswer = await get(target());
      const headAnswer = await head(target());
      expect(headAnswer.status).toBe(getAnswer.status);
      expect(headAnswer.body.byteLength).toBe(0);
      const { "content-length": headLength, ...headRest } = resourceHeaders(headAnswer);
      const { "content-length": getLength, ...getRest } = resourceHeaders(getAnswer);
      expect(headRest).toEqual(getRest);
      if (getLength !== undefined) expect(headLength).toBe(getLength);
      if (headLength !== undefined) expect(Number(headLength)).toBe(getAnswer.body.byteLength);
    });

    it("answers a HEAD with If-None-Match like the GET: 304", async () => {
      const path = `7d/${sparseIndexPath("mixed")}`;
      const etag = (await get(path)).headers.etag ?? "";
      const answer = await head(path, { "if-none-match": etag });
      expect(answer.status).toBe(304);
      expect(answer.headers.etag).toBe(etag);
    });
  });

  describe("Cache-Control of a filtered file", () => {
    it("is never longer than the moment the next hidden version matures", async () => {
      const path = serve(
        "maturing",
        indexFile("maturing", [
          { vers: "1.0.0", publishedAt: T0 - 30 * DAY },
          { vers: "1.1.0", publishedAt: T0 - 7 * DAY + 120 },
        ]),
        {
          headers: { "cache-control": "public, max-age=300" },
        },
      );
      const answer = await get(`7d/${path}`);
      expect(answer.headers["cache-control"]).toBe("public, max-age=120");
      expect(answer.headers["x-cooldown"]).toBe(
        `window=7d; kept=1; hidden=1; too-young=1; yanked=0; unknown-age=0; unreadable=0; next-visible=${rfc3339(T0 + 120)}`,
      );
    });

    it("is upstream's max-age when nothing changes sooner", async () => {
      const path = serve("settled", indexFile("settled", [{ vers: "1.0.0", publishedAt: T0 - 30 * DAY }]), {
        headers: { "cache-control": "public, max-age=300" },
      });
      const answer = await get(`7d/${path}`);
      expect(answer.headers["cache-control"]).toBe("public, max-age=300");
      expect(answer.headers["x-cooldown"]).toBe(
        "window=7d; kept=1; hidden=0; too-young=0; yanked=0; unknown-age=0; unreadable=0",
      );
    });

    it("is what is left of upstream's lifetime: max-age minus Age", async () => {
      const path = serve("aged", indexFile("aged", [{ vers: "1.0.0", publishedAt: T0 - 30 * DAY }]), {
        headers: { "cache-control": "public, max-age=300", age: "100" },
      });
      expect((await get(`7d/${path}`)).headers["cache-control"]).toBe("public, max-age=200");
    });

    it("is 60 s when upstream gives no lifetime", async () => {
      const path = serve("lifeless", indexFile("lifeless", [{ vers: "1.0.0", publishedAt: T0 - 30 * DAY }]));
      expect((await get(`7d/${path}`)).headers["cache-control"]).toBe("public, max-age=60");
    });

    it("is at most 60 s while some version's age is unknown", async () => {
      expect((await get(`7d/${sparseIndexPath("mixed")}`)).headers["cache-control"]).toBe("public, max-age=60");
    });
  });

  describe("gzip and damaged upstream bodies", () => {
    it("filters a gzip-coded upstream file and sends it identity-coded", async () => {
      const body = indexFile("zipped", [
        { vers: "1.0.0", publishedAt: T0 - 30 * DAY },
        { vers: "1.1.0", publishedAt: T0 - 2 * DAY },
      ]);
      const path = serve("zipped", body, { gzip: true });
      const answer = await get(`7d/${path}`);
      expect(answer.status, explainFailure(answer)).toBe(200);
      expect(answer.headers["content-encoding"]).toBeUndefined();
      expect(answer.text).toBe(`${body.split("\n")[0]}\n`);
      const whole = await get(`0d/${path}`);
      expect(whole.headers["content-encoding"]).toBeUndefined();
      expect(whole.text).toBe(body);
      expect(
        upstream.requestsFor(`/${path}`).every((request) => /\bgzip\b/.test(request.headers["accept-encoding"] ?? "")),
      ).toBe(true);
    });

    it.each([
      ["identity", false],
      ["gzip", true],
    ])(
      "never sends an unfiltered or partial body when upstream cuts a %s file short: an error status",
      async (coding, gzip) => {
        const name = `cut-${coding}`;
        const body = indexFile(
          name,
          Array.from({ length: 200 }, (_, i) => ({ vers: `1.0.${i}`, publishedAt: T0 - 30 * DAY })),
        );
        const path = serve(name, body, { truncate: true, gzip });
        const answer = await get(`7d/${path}`);
        expect(answer.status, explainFailure(answer)).toBeGreaterThanOrEqual(500);
        expect(answer.text).not.toContain('"vers"');
        expect(answer.text.split("\n").filter(Boolean)).toHaveLength(1);
      },
    );
    it("never passes a cut-short /0d/ file off as whole: an error status or a cut connection", async () => {
      const name = `cut-through-${kind}`;
      const body = indexFile(
        name,
        Array.from({ length: 200 }, (_, i) => ({ vers: `1.0.${i}`, publishedAt: T0 - 30 * DAY })),
      );
      const path = serve(name, body, { truncate: true });
      const outcome = await get(`0d/${path}`).catch((error: Error) => error);
      // Node answers 503; the edge streams pass-through bodies, so the cut reaches the client as a cut.
      if (outcome instanceof Error) return;
      expect(outcome.status, explainFailure(outcome)).toBeGreaterThanOrEqual(500);
      expect(outcome.text).not.toContain('"vers"');
    });
  });

  describe("404", () => {
    it.each(["03d", "+3d", "3D", "0h", "31d", "721h", "7w", "-1d"])(
      "refuses the window /%s/ with a one-line reason",
      async (window) => {
        const before = upstream.requests.length;
        const answer = await get(`${window}/${sparseIndexPath("mixed")}`);
        expect(answer.status).toBe(404);
        expect(answer.headers["content-type"]).toBe("text/plain; charset=utf-8");
        expect(answer.text).toMatch(/^[^\n]+\n$/);
        expect(upstream.requests.length).toBe(before);
      },
    );

    it.each([
      ["a wrong prefix", "7d/sr/de/serde"],
      ["an uppercase path", "7d/SE/RD/SERDE"],
      ["an uppercase name", "7d/se/rd/Serde"],
      ["a name that is not a crate name", "7d/1/_"],
      ["a name over 64 characters", `7d/aa/aa/${"a".repeat(65)}`],
      ["a path of the wrong length class", "7d/3/a/a"],
      ["an encoded slash", "7d/se/rd/serde%2Fx"],
      ["a trailing slash", "7d/se/rd/serde/"],
      ["no index path", "7d/"],
      ["dot-segments leaving the window", "7d/../../config.json"],
      ["encoded dot-segments leaving the window", "7d/%2e%2e/%2e%2e/etc/passwd"],
      ["encoded dot-segments out of the index path", "7d/se/rd/%2e%2e/%2E%2E/%2e%2e/mixed"],
      ["an explanation of a bad name", "7d/-/explain/bad!name"],
      ["the root", ""],
    ])("refuses %s with 404 before it reaches upstream", async (_, target) => {
      const before = upstream.requests.length;
      const answer = await get(target);
      expect(answer.status, explainFailure(answer)).toBe(404);
      expect(answer.text).toMatch(/^[^\n]+\n$/);
      expect(upstream.requests.length).toBe(before);
    });

    it("resolves dot-segments before routing: /7d/mi/zz/../xe/mixed is /7d/mi/xe/mixed", async () => {
      const direct = await get(`7d/${sparseIndexPath("mixed")}`);
      const dotted = await get("7d/mi/zz/../xe/mixed");
      expect(dotted.status).toBe(200);
      expect(dotted.text).toBe(direct.text);
      // Upstream only ever sees the resolved path (it may not be asked at all: the file is fresh in the home's cache).
      expect(upstream.requests.filter((request) => /zz|\.\./.test(request.path))).toEqual([]);
    });

    it.each([404, 410, 451])("answers 404 for a crate upstream answers %i for", async (status) => {
      const name = `gone-${status}`;
      const path = serve(name, "gone\n", { status });
      const answer = await get(`7d/${path}`);
      expect(answer.status, explainFailure(answer)).toBe(404);
      expect(answer.text).toMatch(/^[^\n]+\n$/);
      const explained = await get(`7d/-/explain/${name}`);
      expect(explained.status).toBe(404);
    });

    it("answers 404 to /0d/-/explain/: nothing to explain", async () => {
      const answer = await get("0d/-/explain/mixed");
      expect(answer.status).toBe(404);
      expect(answer.text).toMatch(/^[^\n]+\n$/);
    });
  });

  describe("405", () => {
    it.each(["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])(
      "refuses %s with Allow: GET, HEAD, before it reaches upstream",
      async (method) => {
        const before = upstream.requests.length;
        const answer = await send(home.url, `7d/${sparseIndexPath("mixed")}`, { method });
        expect(answer.status).toBe(405);
        expect(answer.headers.allow).toBe("GET, HEAD");
        expect(answer.text).toMatch(/^[^\n]+\n$/);
        expect(upstream.requests.length).toBe(before);
      },
    );
  });

  describe("502", () => {
    it.each([
      [301, { location: "https://example.com/" }],
      [302, { location: "https://example.com/" }],
      [307, { location: "https://example.com/" }],
      [400, {}],
      [401, {}],
      [403, {}],
    ])("answers 502 when upstream answers an unexpected %i", async (status, headers) => {
      const path = serve(`odd-${status}`, indexFile(`odd-${status}`, [{ vers: "1.0.0", publishedAt: T0 - 30 * DAY }]), {
        status,
        headers,
      });
      const answer = await get(`7d/${path}`);
      expect(answer.status, explainFailure(answer)).toBe(502);
      expect(answer.text).toMatch(/^[^\n]+\n$/);
      expect(answer.text).not.toContain('"vers"');
    });

    it("answers 502 when upstream uses a content coding it cannot decode", async () => {
      const path = serve("coded", "\u0000\u0001binary", { forcedEncoding: "x-unknown" });
      const answer = await get(`7d/${path}`);
      expect(answer.status, explainFailure(answer)).toBe(502);
      expect(answer.text).toContain("x-unknown");
    });

    it("answers 502 when upstream's file is not valid UTF-8", async () => {
      const line = indexFile("latin", [{ vers: "1.0.0", publishedAt: T0 - 30 * DAY }]);
      const path = serve("latin", Buffer.concat([Buffer.from(line), Buffer.from([0xff, 0xfe, 0x0a])]));
      const answer = await get(`7d/${path}`);
      expect(answer.status, explainFailure(answer)).toBe(502);
      expect(answer.text).toMatch(/UTF-8/);
    });

    it("answers 502 when not one line of upstream's file can be read", async () => {
      const path = serve("garbled", "<html>maintenance</html>\nnot an index\n");
      const answer = await get(`7d/${path}`);
      expect(answer.status, explainFailure(answer)).toBe(502);
      expect(answer.text).not.toContain("maintenance");
    });
  });

  describe("503", () => {
    it.each([
      [500, undefined, "5"],
      [502, undefined, "5"],
      [503, "7", "7"],
      [504, undefined, "5"],
      [429, "11", "11"],
      [429, undefined, "5"],
    ])(
      "answers 503 when upstream answers %i (upstream's Retry-After %s → %s)",
      async (status, retryAfter, expected) => {
        const name = `busy-${status}-${retryAfter ?? "none"}`;
        const path = serve(name, "busy\n", {
          status,
          headers: retryAfter === undefined ? {} : { "retry-after": retryAfter },
        });
        const answer = await get(`7d/${path}`);
        expect(answer.status, explainFailure(answer)).toBe(503);
        expect(answer.headers["retry-after"]).toBe(expected);
        expect(answer.text).toMatch(/^[^\n]+\n$/);
      },
    );

    it("answers 503 with Retry-After 5 when upstream is slower than the timeout", async () => {
      const path = serve("slow", indexFile("slow", [{ vers: "1.0.0", publishedAt: T0 - 30 * DAY }]), {
        delayMs: UPSTREAM_TIMEOUT_MS * 3,
      });
      const answer = await get(`7d/${path}`);
      expect(answer.status, explainFailure(answer)).toBe(503);
      expect(answer.headers["retry-after"]).toBe("5");
    });

    it("answers 503 with Retry-After 5 when upstream cannot be reached", async () => {
      // A port that was just listening and is closed now: nothing answers there.
      const closed = await listenBounded(createServer(), 1_000);
      await closed.close();
      const unreachable = await startHome(kind, {
        upstream: `http://127.0.0.1:${closed.port}`,
        clock: () => T0,
        lifetimeMs: 60_000,
      });
      try {
        const answer = await send(unreachable.url, `7d/${sparseIndexPath("mixed")}`);
        expect(answer.status, `${answer.status} ${answer.text}`).toBe(503);
        expect(answer.headers["retry-after"]).toBe("5");
        expect(answer.text).toMatch(/^[^\n]+\n$/);
      } finally {
        await unreachable.close();
      }
    });
  });

  describe("what differs between homes, as the README says", () => {
    it(
      kind === "node"
        ? "serves Prometheus metrics on /-/metrics, and never under a window"
        : "has no /-/metrics (404), under a window or not",
      async () => {
        const metrics = await get("-/metrics");
        expect((await get("7d/-/metrics")).status).toBe(404);
        if (kind === "node") {
          expect(metrics.status, explainFailure(metrics)).toBe(200);
          expect(metrics.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
          expect(metrics.text).toMatch(/^# TYPE crates_cooldown_requests_total counter$/m);
        } else {
          expect(metrics.status).toBe(404);
        }
      },
    );
    it(
      kind === "node"
        ? "compresses for clients that accept gzip, with an ETag suffixed -gzip"
        : "sets x-compress-hint: on so Fastly compresses for clients",
      async () => {
        const name = "large";
        const body = indexFile(
          name,
          Array.from({ length: 40 }, (_, i) => ({ vers: `1.0.${i}`, publishedAt: T0 - 30 * DAY })),
        );
        const path = serve(name, body);
        const plain = await get(`7d/${path}`);
        const asked = await get(`7d/${path}`, { "accept-encoding": "gzip" });
        if (kind === "node") {
          expect(plain.headers["x-compress-hint"]).toBeUndefined();
          expect(asked.headers["content-encoding"]).toBe("gzip");
          expect(asked.headers.etag).toBe(`${(plain.headers.etag ?? "").slice(0, -1)}-gzip"`);
        } else {
          expect(plain.headers["x-compress-hint"]).toBe("on");
          expect(asked.headers["x-compress-hint"]).toBe("on");
          expect(asked.headers["content-encoding"]).toBeUndefined();
          expect(asked.headers.etag).toBe(plain.headers.etag);
        }
      },
    );
  });
});
