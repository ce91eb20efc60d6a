import { createHash } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import { listenBounded } from "./bounded-loopback-server.ts";

/**
 * A fake `https://static.crates.io/rss/updates.xml` on 127.0.0.1: RSS 2.0 with the `crates:` namespace, items newest
 * first, a strong ETag and Last-Modified that change whenever the items do, 304 for a matching conditional GET, and
 * faults on demand. Bounded: it answers at most `maxRequests` and closes itself after `timeoutMs`.
 */

export interface FakeFeedItem {
  readonly crate: string;
  readonly version: string;
  /** Unix seconds. */
  readonly publishedAt: number;
}

export interface FakeFeedRequest {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
}

export interface FakeUpdatesFeedOptions {
  /** The `Date` header (Unix seconds), i.e. the feed server's clock; default the real clock. */
  readonly now?: () => number;
  readonly timeoutMs?: number;
  readonly maxRequests?: number;
}

export interface FakeUpdatesFeed {
  /** `http://127.0.0.1:PORT/rss/updates.xml` */
  readonly url: string;
  /** Replaces the feed's items (any order; served newest first). */
  setItems(items: readonly FakeFeedItem[]): void;
  /** Adds an item, as a publish on crates.io does (the feed is rewritten: new ETag). */
  publish(item: FakeFeedItem): void;
  /** Serves this text instead of the feed (e.g. malformed XML) until cleared with null. */
  setRawBody(body: string | null): void;
  /** Answers the next `times` requests with `status`. */
  failNext(status: number, times?: number): void;
  readonly requests: readonly FakeFeedRequest[];
  close(): Promise<void>;
}

export async function startFakeUpdatesFeed(options: FakeUpdatesFeedOptions = {}): Promise<FakeUpdatesFeed> {
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const maxRequests = options.maxRequests ?? 1_000;
  let items: FakeFeedItem[] = [];
  let rawBody: string | null = null;
  let fault: { status: number; times: number } | null = null;
  let changedAt = now();
  const requests: FakeFeedRequest[] = [];

  const body = () => rawBody ?? renderFeed(items);
  const etag = () => `"${createHash("sha256").update(body()).digest("hex").slice(0, 32)}"`;

  const server = createServer((req, res) => {
    const answer = (status: number, headers: Record<string, string> = {}, text = "") => {
      requests.push({ status, headers: req.headers });
      res.writeHead(status, { date: new Date(now() * 1000).toUTCString(), ...headers });
      res.end(text);
    };
    if (requests.length >= maxRequests)
      return answer(503, { "content-type": "text/plain" }, "fake feed: request budget spent\n");
    if (req.url !== "/rss/updates.xml") return answer(404, { "content-type": "text/plain" }, "not found\n");
    if (fault !== null && fault.times > 0) {
      fault.times--;
      return answer(fault.status, { "content-type": "text/plain" }, `fake feed: fault ${fault.status}\n`);
    }
    const tag = etag();
    const lastModified = new Date(changedAt * 1000).toUTCString();
    if (req.headers["if-none-match"] === tag) return answer(304, { etag: tag, "last-modified": lastModified });
    answer(200, { "content-type": "application/xml; charset=utf-8", etag: tag, "last-modified": lastModified }, body());
  });
  const { port, close } = await listenBounded(server, options.timeoutMs ?? 120_000);

  return {
    url: `http://127.0.0.1:${port}/rss/updates.xml`,
    setItems(next) {
      items = [...next];
      changedAt = now();
    },
    publish(item) {
      items.push(item);
      changedAt = now();
    },
    setRawBody(next) {
      rawBody = next;
      changedAt = now();
    },
    failNext(status, times = 1) {
      fault = { status, times };
    },
    requests,
    close,
  };
}

/** RFC 2822 as crates.io writes `pubDate`: `Sat, 22 Jun 2024 15:57:19 +0000`. */
export function rfc2822(at: number): string {
  return new Date(at * 1000).toUTCString().replace(/GMT$/, "+0000");
}

/** The feed document, shaped like crates.io's `src/worker/jobs/rss/` output. */
export function renderFeed(items: readonly FakeFeedItem[]): string {
  const escapeXml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const sorted = [...items].sort((a, b) => b.publishedAt - a.publishedAt);
  const rendered = sorted.map((item) => {
    const link = `https://crates.io/crates/${item.crate}/${item.version}`;
    return [
      "    <item>",
      `      <title>New crate version published: ${escapeXml(item.crate)} v${escapeXml(item.version)}</title>`,
      `      <link>${escapeXml(link)}</link>`,
      `      <description>&lt;p&gt;${escapeXml(item.crate)} ${escapeXml(item.version)}&lt;/p&gt;</description>`,
      `      <guid>${escapeXml(link)}</guid>`,
      `      <pubDate>${rfc2822(item.publishedAt)}</pubDate>`,
      `      <crates:name>${escapeXml(item.crate)}</crates:name>`,
      `      <crates:version>${escapeXml(item.version)}</crates:version>`,
      "    </item>",
    ].join("\n");
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:crates="https://crates.io/">',
    "  <channel>",
    "    <title>crates.io: recent updates</title>",
    "    <link>https://crates.io/</link>",
    "    <description>Recent version publishes on the crates.io package registry</description>",
    "    <language>en</language>",
    '    <atom:link href="https://static.crates.io/rss/updates.xml" rel="self" type="application/rss+xml"/>',
    ...rendered,
    "  </channel>",
    "</rss>",
    "",
  ].join("\n");
}
