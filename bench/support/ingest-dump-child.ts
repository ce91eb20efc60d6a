/**
 * One measured run for bench/ingest.bench.ts, in a process of its own (so its peak RSS is its own): either
 * `gunzip <archive> <chunkBytes>` — Node's gunzip of the archive into nothing — or `ingest <archive> <db>` — the full
 * `ingest dump` path. Prints one JSON line: `{ seconds, maxRssBytes, summary? }`.
 */
import { createReadStream } from "node:fs";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { ingestDump } from "../../src/dump/ingest-dump.ts";

const [mode, archive, third] = process.argv.slice(2) as [string, string, string];
const started = performance.now();
let summary: unknown;
if (mode === "gunzip") {
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  await pipeline(
    createReadStream(archive, { highWaterMark: 1 << 20 }),
    createGunzip({ chunkSize: Number(third) }),
    discard,
  );
} else {
  summary = await ingestDump({ source: archive, dbPath: third });
}
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ seconds, maxRssBytes: process.resourceUsage().maxRSS * 1024, summary }));
