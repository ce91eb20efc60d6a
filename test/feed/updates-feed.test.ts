import { describe, expect, it } from "vitest";
import { FeedFormatError, parseUpdatesFeed } from "../../src/feed/updates-feed.ts";
import { renderFeed } from "../support/fake-updates-feed.ts";

const t = Date.UTC(2026, 10, 22, 10, 0, 0) / 1000;

describe("parseUpdatesFeed", () => {
  it("reads every item's crates:name, crates:version and pubDate, keeping versions as text", () => {
    const xml = renderFeed([
      { crate: "Serde", version: "1.10", publishedAt: t },
      { crate: "tokio", version: "1.0.0+build.7", publishedAt: t - 60 },
    ]);
    expect(parseUpdatesFeed(xml)).toEqual({
      items: [
        { crate: "Serde", version: "1.10", publishedAt: t },
        { crate: "tokio", version: "1.0.0+build.7", publishedAt: t - 60 },
      ],
      unreadable: [],
    });
  });

  it("reads a feed with a single item (XML has no arrays) and a feed with none", () => {
    expect(parseUpdatesFeed(renderFeed([{ crate: "one", version: "0.1.0", publishedAt: t }])).items).toHaveLength(1);
    expect(parseUpdatesFeed(renderFeed([]))).toEqual({ items: [], unreadable: [] });
  });

  it("follows the declared namespace prefix rather than assuming crates:", () => {
    const xml = renderFeed([{ crate: "serde", version: "1.0.0", publishedAt: t }])
      .replace('xmlns:crates="https://crates.io/"', 'xmlns:c="https://crates.io/"')
      .replace(/crates:(name|version)>/g, "c:$1>");
    expect(parseUpdatesFeed(xml).items).toEqual([{ crate: "serde", version: "1.0.0", publishedAt: t }]);
  });

  it("falls back to the item link when the crates: elements are missing", () => {
    const xml = renderFeed([{ crate: "serde", version: "1.0.0", publishedAt: t }]).replace(
      /\s*<crates:(name|version)>[^<]*<\/crates:\1>/g,
      "",
    );
    expect(parseUpdatesFeed(xml).items).toEqual([{ crate: "serde", version: "1.0.0", publishedAt: t }]);
  });

  it("skips an item it cannot read and says which and why", () => {
    const xml = renderFeed([
      { crate: "good", version: "1.0.0", publishedAt: t },
      { crate: "bad", version: "2.0.0", publishedAt: t - 1 },
    ]).replace(/<pubDate>[^<]*<\/pubDate>(\s*<crates:name>bad)/, "<pubDate>last tuesday</pubDate>$1");
    const feed = parseUpdatesFeed(xml);
    expect(feed.items).toEqual([{ crate: "good", version: "1.0.0", publishedAt: t }]);
    expect(feed.unreadable).toEqual(['item 2 (bad 2.0.0): pubDate "last tuesday" is not an RFC 2822 date']);
  });

  it.each([
    ["malformed XML", "<rss><channel><item></channel></rss>", /not well-formed XML/],
    ["a document that is not RSS", "<html><body>maintenance</body></html>", /not an RSS feed/],
    ["plain text", "Service Unavailable", /not well-formed XML/],
  ])("refuses %s", (_what, xml, message) => {
    expect(() => parseUpdatesFeed(xml)).toThrow(FeedFormatError);
    expect(() => parseUpdatesFeed(xml)).toThrow(message);
  });
});

describe("the ingest job's User-Agent", () => {
  it("names the project and version, and the operator's contact when CRATES_COOLDOWN_CONTACT gives one", async () => {
    const { ingestUserAgent } = await import("../../src/node/user-agent.ts");
    const { PACKAGE_VERSION } = await import("../../src/package-version.ts");
    expect(ingestUserAgent(undefined)).toBe(`crates-cooldown/${PACKAGE_VERSION}`);
    expect(ingestUserAgent("ops@example.com")).toBe(`crates-cooldown/${PACKAGE_VERSION} (+ops@example.com)`);
    expect(ingestUserAgent("evil\r\nX-Injected: 1")).toBe(`crates-cooldown/${PACKAGE_VERSION}`);
  });
});
