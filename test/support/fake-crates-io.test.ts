import { createHash } from "node:crypto";
import { request } from "node:http";
import { gunzipSync } from "node:zlib";
import tar from "tar-stream";
import { afterEach, describe, expect, it } from "vitest";
import { daysAgo, type FakeCratesIo, startFakeCratesIo } from "./fake-crates-io.ts";

// The e2e proof is only as good as this stand-in for crates.io, so its claims are checked here, without cargo.

let fake: FakeCratesIo | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** A GET without fetch's automatic Accept-Encoding and decompression, so the wire bytes are what is checked. */
function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers as Record<string, string>,
          body: Buffer.concat(chunks),
        }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

async function tarEntries(crate: Uint8Array): Promise<Map<string, string>> {
  const entries = new Map<string, string>();
  const extract = tar.extract();
  extract.end(gunzipSync(crate));
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    entries.set(entry.header.name, Buffer.concat(chunks).toString("utf8"));
  }
  return entries;
}

describe("fake crates.io", () => {
  it("serves a config.json whose dl and api point at itself, pretty-printed like crates.io's", async () => {
    fake = await startFakeCratesIo();
    const config = await get(`${fake.url}/config.json`);
    expect(config.status).toBe(200);
    expect(config.body.toString()).toBe(`{\n  "dl": "${fake.url}/api/v1/crates",\n  "api": "${fake.url}"\n}\n`);
  });

  it("serves each crate at cargo's lowercased index path and 404 everywhere else", async () => {
    fake = await startFakeCratesIo();
    for (const name of ["a", "ab", "abc", "abcd", "Mixed_Case"])
      await fake.publish({ name, vers: "1.0.0", pubtime: daysAgo(1) });
    for (const path of ["1/a", "2/ab", "3/a/abc", "ab/cd/abcd", "mi/xe/mixed_case"]) {
      expect((await get(`${fake.url}/${path}`)).status, path).toBe(200);
    }
    expect(JSON.parse((await get(`${fake.url}/mi/xe/mixed_case`)).body.toString()).name).toBe("Mixed_Case");
    for (const path of ["Mi/xe/Mixed_Case", "mi/xe/mixed-case", "3/b/abc", "ab/abcd", "no/ne/none"]) {
      expect((await get(`${fake.url}/${path}`)).status, path).toBe(404);
    }
  });

  it("writes index lines in crates.io's field order, deps in cargo's key order, features2 with v: 2", async () => {
    fake = await startFakeCratesIo();
    const published = await fake.publish({
      name: "full",
      vers: "2.0.0",
      pubtime: new Date("2026-11-01T12:00:00.750Z"),
      links: "full-sys",
      rust_version: "1.70",
      features: { std: [], serde: ["dep:serde"] },
      deps: [
        { name: "serde", req: "^1", optional: true },
        { name: "cc", req: "^1", kind: "build" },
        {
          name: "other",
          package: "real-other",
          req: "^0.1",
          target: "cfg(unix)",
          registry: "https://example.invalid/index",
        },
      ],
    });
    const line = (await get(`${fake.url}/fu/ll/full`)).body.toString();
    expect(line).toBe(`${published.line}\n`);
    const entry = JSON.parse(line);
    expect(Object.keys(entry)).toEqual([
      "name",
      "vers",
      "deps",
      "cksum",
      "features",
      "features2",
      "yanked",
      "links",
      "rust_version",
      "pubtime",
      "v",
    ]);
    expect(entry.pubtime).toBe("2026-11-01T12:00:00Z");
    expect(entry.features).toEqual({ std: [] });
    expect(entry.features2).toEqual({ serde: ["dep:serde"] });
    expect(entry.deps.map((d: { name: string }) => d.name)).toEqual(["cc", "other", "serde"]);
    expect(Object.keys(entry.deps[1])).toEqual([
      "name",
      "req",
      "features",
      "optional",
      "default_features",
      "target",
      "kind",
      "registry",
      "package",
    ]);
    expect(Object.keys(entry.deps[0])).toEqual([
      "name",
      "req",
      "features",
      "optional",
      "default_features",
      "target",
      "kind",
    ]);
  });

  it("leaves pubtime and v out when absent, and keeps lines in publish order", async () => {
    fake = await startFakeCratesIo();
    await fake.publish({ name: "plain", vers: "1.0.0" });
    await fake.publish({ name: "plain", vers: "0.9.0" });
    const lines =
      fake
        .indexFile("plain")
        ?.trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l)) ?? [];
    expect(lines.map((l) => l.vers)).toEqual(["1.0.0", "0.9.0"]);
    expect(Object.keys(lines[0])).toEqual(["name", "vers", "deps", "cksum", "features", "yanked"]);
  });

  it("answers If-None-Match with 304 under a strong ETag that changes when the file does", async () => {
    fake = await startFakeCratesIo({ maxAgeSeconds: 30 });
    await fake.publish({ name: "tagged", vers: "1.0.0", pubtime: daysAgo(9) });
    const first = await get(`${fake.url}/ta/gg/tagged`);
    expect(first.headers.etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(first.headers["cache-control"]).toBe("public, max-age=30");
    const again = await get(`${fake.url}/ta/gg/tagged`, { "if-none-match": first.headers.etag as string });
    expect(again.status).toBe(304);
    expect(again.body.byteLength).toBe(0);
    fake.yank("tagged", "1.0.0");
    const changed = await get(`${fake.url}/ta/gg/tagged`, { "if-none-match": first.headers.etag as string });
    expect(changed.status).toBe(200);
    expect(changed.headers.etag).not.toBe(first.headers.etag);
    expect(JSON.parse(changed.body.toString()).yanked).toBe(true);
  });

  it("serves .crate files whose sha256 is the line's cksum, laid out as cargo package does", async () => {
    fake = await startFakeCratesIo();
    const published = await fake.publish({
      name: "boxed",
      vers: "0.1.0",
      deps: [{ name: "dep", req: "^1" }],
      pubtime: daysAgo(3),
    });
    const download = await get(`${fake.url}/api/v1/crates/boxed/0.1.0/download`);
    expect(download.status).toBe(200);
    expect(createHash("sha256").update(download.body).digest("hex")).toBe(published.cksum);
    expect(JSON.parse(fake.indexFile("boxed") ?? "").cksum).toBe(published.cksum);
    const entries = await tarEntries(download.body);
    expect([...entries.keys()]).toEqual(["boxed-0.1.0/Cargo.toml", "boxed-0.1.0/src/lib.rs"]);
    expect(entries.get("boxed-0.1.0/Cargo.toml")).toContain('[dependencies]\n"dep" = { version = "^1" }');
    expect((await get(`${fake.url}/api/v1/crates/boxed/9.9.9/download`)).status).toBe(404);
  });

  it("serves downloads under a dl template when asked", async () => {
    fake = await startFakeCratesIo({ downloads: "template" });
    const published = await fake.publish({ name: "tmpl", vers: "1.0.0" });
    expect(JSON.parse((await get(`${fake.url}/config.json`)).body.toString()).dl).toBe(
      `${fake.url}/crates/{crate}/{crate}-{version}.crate`,
    );
    const download = await get(`${fake.url}/crates/tmpl/tmpl-1.0.0.crate`);
    expect(Buffer.compare(download.body, Buffer.from(published.crateBytes))).toBe(0);
  });

  it("can serve every file without pubtime, as a registry from before the switch-on would", async () => {
    fake = await startFakeCratesIo({ servePubtime: false });
    await fake.publish({ name: "old", vers: "1.0.0", pubtime: daysAgo(400) });
    expect(fake.indexFile("old")).not.toContain("pubtime");
    fake.setServePubtime(true);
    expect(fake.indexFile("old")).toContain('"pubtime":"');
  });

  it("gzips index files only for clients that accept it", async () => {
    fake = await startFakeCratesIo({ gzip: true });
    await fake.publish({ name: "zipped", vers: "1.0.0" });
    const zipped = await get(`${fake.url}/zi/pp/zipped`, { "accept-encoding": "gzip" });
    expect(zipped.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(zipped.body).toString()).toBe(fake.indexFile("zipped"));
    expect((await get(`${fake.url}/zi/pp/zipped`)).headers["content-encoding"]).toBeUndefined();
  });

  it("answers a configured fault instead of the file, the given number of times", async () => {
    fake = await startFakeCratesIo();
    await fake.publish({ name: "flaky", vers: "1.0.0" });
    fake.setFault("flaky", { status: 503, retryAfter: "1", times: 1 });
    const failed = await get(`${fake.url}/fl/ak/flaky`);
    expect([failed.status, failed.headers["retry-after"]]).toEqual([503, "1"]);
    expect((await get(`${fake.url}/fl/ak/flaky`)).status).toBe(200);
  });

  it("stops serving after its request limit", async () => {
    fake = await startFakeCratesIo({ maxRequests: 2 });
    await get(`${fake.url}/config.json`);
    await get(`${fake.url}/config.json`);
    expect((await get(`${fake.url}/config.json`)).status).toBe(503);
    await expect(get(`${fake.url}/config.json`)).rejects.toThrow();
  });
});
