import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAdvisoryFile, readAdvisoryDb } from "../../src/advisories/advisory-db.ts";
import {
  advisoryDbTarball,
  advisoryText,
  type GeneratedAdvisory,
  writeAdvisoryDbFolder,
} from "../support/advisory-db-generator.ts";
import { scratch } from "../support/scratch.ts";

const ADVISORIES: GeneratedAdvisory[] = [
  { id: "RUSTSEC-2026-0042", package: "rustls", patched: [">= 0.23.18", ">= 0.22.5, < 0.23.0"] },
  { id: "RUSTSEC-2026-0043", package: "Old_Crate", patched: ["1.2.3"], withdrawn: "2026-11-21" },
  { id: "RUSTSEC-2026-0044", package: "unmaintained", patched: [] },
];

const expected = [
  { id: "RUSTSEC-2026-0042", crate: "rustls", patched: [">= 0.23.18", ">= 0.22.5, < 0.23.0"], withdrawn: false },
  { id: "RUSTSEC-2026-0043", crate: "old_crate", patched: ["1.2.3"], withdrawn: true },
  { id: "RUSTSEC-2026-0044", crate: "unmaintained", patched: [], withdrawn: false },
];
const byId = (list: readonly { id: string }[]) => [...list].sort((a, b) => a.id.localeCompare(b.id));

describe("readAdvisoryDb", () => {
  it("reads a checkout: every crates/<name>/RUSTSEC-*.md, its id, package, patched ranges and withdrawal", async () => {
    const db = await readAdvisoryDb(writeAdvisoryDbFolder(scratch(), ADVISORIES));
    expect(byId(db.advisories)).toEqual(expected);
    expect(db.unreadable).toEqual([]);
  });

  it("reads a .tar.gz of it with a top folder, as GitHub's archive has", async () => {
    const path = join(scratch(), "advisory-db-main.tar.gz");
    writeFileSync(path, await advisoryDbTarball(ADVISORIES));
    expect(byId((await readAdvisoryDb(path)).advisories)).toEqual(expected);
  });

  it("sets aside a malformed advisory, naming it, and still reads the others", async () => {
    const db = await readAdvisoryDb(
      writeAdvisoryDbFolder(scratch(), [
        ...ADVISORIES,
        { id: "RUSTSEC-2026-0099", package: "broken", rawText: "# no toml block\n" },
      ]),
    );
    expect(db.advisories).toHaveLength(3);
    expect(db.unreadable).toEqual([
      { path: "crates/broken/RUSTSEC-2026-0099.md", reason: "does not open with a ```toml block" },
    ]);
  });

  it("refuses a folder or file that is not the advisory database, in one line", async () => {
    await expect(readAdvisoryDb(scratch())).rejects.toThrow(/has no crates\/ folder/);
    await expect(readAdvisoryDb(join(scratch(), "missing"))).rejects.toThrow(
      /cannot read the advisory database .*ENOENT/,
    );
    const notGzip = join(scratch(), "x.tar.gz");
    writeFileSync(notGzip, "not gzip");
    await expect(readAdvisoryDb(notGzip)).rejects.toThrow(/not a readable \.tar\.gz/);
  });
});

describe("parseAdvisoryFile", () => {
  it.each([
    ["no [advisory] table", "```toml\n[versions]\npatched = []\n```\n", "has no [advisory] table"],
    ["no id", '```toml\n[advisory]\npackage = "x"\n```\n', "has no RUSTSEC id"],
    ["no package", '```toml\n[advisory]\nid = "RUSTSEC-2026-0001"\n```\n', "has no package"],
    [
      "patched not strings",
      '```toml\n[advisory]\nid = "RUSTSEC-2026-0001"\npackage = "x"\n[versions]\npatched = [1]\n```\n',
      "patched is not a list",
    ],
    ["invalid TOML", "```toml\n[advisory\n```\n", "its TOML block is not valid"],
  ])("refuses a file with %s", (_, text, message) => {
    expect(() => parseAdvisoryFile("crates/x/RUSTSEC-2026-0001.md", text)).toThrow(message);
  });

  it("refuses a file whose name and id disagree", () => {
    expect(() =>
      parseAdvisoryFile("crates/x/RUSTSEC-2026-0002.md", advisoryText({ id: "RUSTSEC-2026-0001", package: "x" })),
    ).toThrow("is named RUSTSEC-2026-0002 but holds RUSTSEC-2026-0001");
  });
});

describe("readAdvisoryDb over HTTP", () => {
  it("downloads the .tar.gz from a URL, and says so in one line when the server refuses", async () => {
    const { createServer } = await import("node:http");
    const { listenBounded } = await import("../support/bounded-loopback-server.ts");
    const tarball = await advisoryDbTarball(ADVISORIES);
    const server = createServer((req, res) => {
      if (req.url === "/main.tar.gz") res.writeHead(200, { "content-type": "application/gzip" }).end(tarball);
      else res.writeHead(404).end();
    });
    const { port, close } = await listenBounded(server, 30_000);
    try {
      expect(byId((await readAdvisoryDb(`http://127.0.0.1:${port}/main.tar.gz`)).advisories)).toEqual(expected);
      await expect(readAdvisoryDb(`http://127.0.0.1:${port}/missing.tar.gz`)).rejects.toThrow(
        `cannot download the advisory database from http://127.0.0.1:${port}/missing.tar.gz: the server answered 404`,
      );
    } finally {
      await close();
    }
  });
});
