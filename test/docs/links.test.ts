// Every relative link in the repository's markdown resolves: the file it names exists, and an `#anchor` (on the same
// page or on `other.md#anchor`) is the GitHub slug of a heading there. Absolute links (http:, https:, mailto:) are not
// fetched. marked's lexer finds the links and headings; github-slugger turns a heading into the id GitHub gives it.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import GithubSlugger from "github-slugger";
import { marked, type Token, type Tokens } from "marked";
import { afterAll, describe, expect, it } from "vitest";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

/** Markdown files under `root`, as paths relative to it; dependencies, build output and dot-directories left out. */
function markdownFiles(root: string, under = ""): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(join(root, under), { withFileTypes: true })) {
    const path = under === "" ? entry.name : `${under}/${entry.name}`;
    if (entry.isDirectory()) {
      if (entry.name.startsWith(".") || entry.name === "node_modules" || entry.name === "dist") continue;
      found.push(...markdownFiles(root, path));
    } else if (entry.name.endsWith(".md")) {
      found.push(path);
    }
  }
  return found.sort();
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'" };

/** A heading's text as GitHub renders it (markup dropped, code spans and link texts kept). */
function plainText(tokens: Token[]): string {
  return tokens
    .map((token) => {
      if (token.type === "html") return "";
      if ("tokens" in token && token.tokens !== undefined && token.type !== "codespan") return plainText(token.tokens);
      return "text" in token ? String(token.text) : "";
    })
    .join("")
    .replace(/&(amp|lt|gt|quot|#39);/g, (_, name: string) => ENTITIES[name] ?? "");
}

interface Parsed {
  links: { href: string; raw: string }[];
  anchors: Set<string>;
}

function parse(text: string): Parsed {
  const tokens = marked.lexer(text);
  const links: Parsed["links"] = [];
  const slugger = new GithubSlugger();
  const anchors = new Set<string>();
  marked.walkTokens(tokens, (token) => {
    if (token.type === "link" || token.type === "image") {
      const { href, raw } = token as Tokens.Link | Tokens.Image;
      links.push({ href, raw });
    } else if (token.type === "heading") {
      anchors.add(slugger.slug(plainText((token as Tokens.Heading).tokens)));
    }
  });
  return { links, anchors };
}

/** Problems with the relative links of `file` (a path relative to `root`), one line each; none when all resolve. */
function brokenLinks(root: string, file: string): string[] {
  const cache = new Map<string, Parsed>();
  const parsedAt = (path: string): Parsed => {
    let parsed = cache.get(path);
    if (parsed === undefined) {
      parsed = parse(readFileSync(path, "utf8"));
      cache.set(path, parsed);
    }
    return parsed;
  };
  const source = resolve(root, file);
  const problems: string[] = [];
  for (const { href, raw } of parsedAt(source).links) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith("//")) continue; // absolute: not fetched
    const hash = href.indexOf("#");
    const pathPart = decodeURIComponent(hash === -1 ? href : href.slice(0, hash));
    const anchor = hash === -1 ? undefined : decodeURIComponent(href.slice(hash + 1));
    const target =
      pathPart === "" ? source : pathPart.startsWith("/") ? join(root, pathPart) : resolve(dirname(source), pathPart);
    const shown = `${file}: ${raw}`;
    if (target !== resolve(root) && !target.startsWith(resolve(root) + sep)) {
      problems.push(`${shown}: leaves the repository`);
      continue;
    }
    if (!existsSync(target)) {
      problems.push(`${shown}: ${relative(root, target)} does not exist`);
      continue;
    }
    if (anchor === undefined) continue;
    if (!statSync(target).isFile() || !target.endsWith(".md")) {
      if (!/^L\d+(-L\d+)?$/.test(anchor)) problems.push(`${shown}: #${anchor} on a file that is not markdown`);
      continue;
    }
    if (!parsedAt(target).anchors.has(anchor)) {
      problems.push(`${shown}: no heading in ${relative(root, target)} has the anchor #${anchor}`);
    }
  }
  return problems;
}

describe("links in the repository's markdown", () => {
  const files = markdownFiles(REPO);

  it("finds the README and the pages in docs/", () => {
    expect(files).toContain("README.md");
    expect(files.filter((file) => file.startsWith("docs/")).length).toBeGreaterThan(0);
  });

  it("the README links every page in docs/", () => {
    const readme = parse(readFileSync(join(REPO, "README.md"), "utf8"));
    const linked = new Set(readme.links.map(({ href }) => href.split("#")[0]));
    const pages = files.filter((file) => file.startsWith("docs/"));
    expect(pages.filter((page) => !linked.has(page))).toEqual([]);
  });

  it.each(files)("%s: every relative link resolves", (file) => {
    expect(brokenLinks(REPO, file)).toEqual([]);
  });
});

describe("the link check itself", () => {
  const root = mkdtempSync(join(tmpdir(), "docs-links-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, "other.md"), "# Other page\n\n## `serve` flags\n\n## Twice\n\n## Twice\n");
  writeFileSync(join(root, "code.ts"), "export {};\n");
  const check = (markdown: string): string[] => {
    writeFileSync(join(root, "page.md"), `# A page\n\n${markdown}\n`);
    return brokenLinks(root, "page.md");
  };

  it("accepts links that resolve, and ignores absolute ones", () => {
    expect(
      check(
        "[a](other.md) [b](other.md#serve-flags) [c](#a-page) [d](./other.md#twice-1) [e](code.ts#L1)\n" +
          "[f](https://x.invalid/nope.md#none)\n\n| t |\n| - |\n| [g](other.md#other-page) |",
      ),
    ).toEqual([]);
  });

  it("reports a missing file, a missing anchor (another page, the same page), a link out of the repository", () => {
    expect(check("[a](missing.md)\n\n- [b](other.md#nowhere)\n\n> [c](#nothing)\n\n[d](../outside.md)")).toEqual([
      "page.md: [a](missing.md): missing.md does not exist",
      "page.md: [b](other.md#nowhere): no heading in other.md has the anchor #nowhere",
      "page.md: [c](#nothing): no heading in page.md has the anchor #nothing",
      "page.md: [d](../outside.md): leaves the repository",
    ]);
  });
});
