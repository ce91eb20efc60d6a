import { XMLParser } from "fast-xml-parser";
import type { UnixSeconds } from "../core/time.ts";
import { parseRfc2822Date } from "./rfc2822-date.ts";

/** crates.io's feed of every version published in the last 60 minutes (at least 100 items), newest first. */
export const DEFAULT_FEED_SOURCE = "https://static.crates.io/rss/updates.xml";

/** The namespace of `<crates:name>` and `<crates:version>`. */
const CRATES_NAMESPACE = "https://crates.io/";

/** One published version, as the feed announces it. */
export interface FeedItem {
  /** As the feed spells it; stored lowercased. */
  readonly crate: string;
  readonly version: string;
  readonly publishedAt: UnixSeconds;
}

export interface UpdatesFeed {
  readonly items: readonly FeedItem[];
  /** One line per item that could not be read (skipped), saying why. */
  readonly unreadable: readonly string[];
}

export class FeedFormatError extends Error {
  override readonly name = "FeedFormatError";
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  // Versions stay text: "1.10" must not become the number 1.1.
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (_name, path) => path === "rss.channel.item",
});

/**
 * Reads crates.io's `rss/updates.xml`: every `<item>`'s `<crates:name>`, `<crates:version>` and `<pubDate>`. The
 * namespace prefix is looked up from its declaration (`xmlns:crates="https://crates.io/"`), not assumed. When the
 * crates elements are missing, the name and version are taken from the item's `https://crates.io/crates/{name}/{version}`
 * link. Throws `FeedFormatError` when the text is not well-formed XML or not an RSS channel; items that cannot be read
 * are skipped and listed in `unreadable`.
 */
export function parseUpdatesFeed(xml: string): UpdatesFeed {
  let document: unknown;
  try {
    document = parser.parse(xml, true);
  } catch (error) {
    throw new FeedFormatError(`not well-formed XML (${firstLine((error as Error).message)})`);
  }
  const rss = (document as { rss?: Record<string, unknown> }).rss;
  const channel = typeof rss === "object" && rss !== null ? (rss as { channel?: unknown }).channel : undefined;
  if (typeof channel !== "object" || channel === null) throw new FeedFormatError("not an RSS feed (no <rss><channel>)");
  const prefix = namespacePrefix(rss as Record<string, unknown>);
  const rawItems = ((channel as { item?: unknown }).item ?? []) as unknown[];
  const items: FeedItem[] = [];
  const unreadable: string[] = [];
  rawItems.forEach((raw, index) => {
    const item = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
    const fromLink = crateOfLink(text(item.link) ?? text(item.guid));
    const crate = text(item[`${prefix}:name`]) ?? fromLink?.crate;
    const version = text(item[`${prefix}:version`]) ?? fromLink?.version;
    const pubDate = text(item.pubDate);
    const publishedAt = pubDate === undefined ? null : parseRfc2822Date(pubDate);
    if (crate === undefined || version === undefined || publishedAt === null || crate === "" || version === "") {
      const what =
        crate === undefined || crate === ""
          ? "no crate name"
          : version === undefined || version === ""
            ? "no version"
            : `pubDate ${JSON.stringify(pubDate ?? null)} is not an RFC 2822 date`;
      unreadable.push(`item ${index + 1}${crate ? ` (${crate}${version ? ` ${version}` : ""})` : ""}: ${what}`);
      return;
    }
    items.push({ crate, version, publishedAt });
  });
  return { items, unreadable };
}

function namespacePrefix(rss: Record<string, unknown>): string {
  for (const [key, value] of Object.entries(rss)) {
    if (key.startsWith("@_xmlns:") && value === CRATES_NAMESPACE) return key.slice("@_xmlns:".length);
  }
  return "crates";
}

const LINK = /^https:\/\/crates\.io\/crates\/([A-Za-z0-9_-]+)\/([^/?#\s]+)\/?$/;

function crateOfLink(link: string | undefined): { crate: string; version: string } | undefined {
  const m = link === undefined ? null : LINK.exec(link);
  if (m === null) return undefined;
  return { crate: m[1] as string, version: decodeURIComponent(m[2] as string) };
}

/** An element's text: a string, or `#text` when the element also has attributes (e.g. `<guid isPermaLink="…">`). */
function text(value: unknown): string | undefined {
  if (typeof value === "string") return value.trim();
  if (typeof value === "object" && value !== null && typeof (value as { "#text"?: unknown })["#text"] === "string") {
    return (value as { "#text": string })["#text"].trim();
  }
  return undefined;
}

function firstLine(message: string): string {
  return message.split("\n")[0] ?? message;
}
