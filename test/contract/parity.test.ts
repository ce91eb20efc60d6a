import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { indexFile } from "../server/index-lines.ts";
import { sparseIndexPath } from "../support/fake-crates-io.ts";
import { FixtureUpstream } from "../support/fixture-upstream.ts";
import { syntheticIndexFile } from "../support/synthetic-index-file.ts";
import { type Answer, closeClient, send } from "./client.ts";
import { HOMES, type RunningHome, startHome } from "./homes.ts";

// Every home side by side on one upstream and one set of data: the same request gets the same status, the same body
// and the same values of the headers every home promises (README "Headers of a filtered file", Retry-After, Allow) —
// ETags included, as each is a function of upstream's tag and the lines kept, or of the body.

const T0 = Math.floor(Date.now() / 1000);
const DAY = 86_400;
const LIFETIME_MS = 180_000;
/** Headers all homes promise with the same value. Not Vary, Content-Encoding or x-compress-hint: those differ by design. */
const PROMISED = ["content-type", "etag", "cache-control", "x-cooldown", "retry-after", "allow", "content-length"];

const REQUESTS: readonly {
  readonly what: string;
  readonly method?: string;
  readonly target: string;
  readonly headers?: Record<string, string>;
}[] = [
  { what: "a filtered file (upstream ETag)", target: `7d/${sparseIndexPath("tagged")}` },
  { what: "a filtered file (no upstream ETag: hash of the body)", target: `7d/${sparseIndexPath("untagged")}` },
  { what: "a filtered file under hours", target: `36h/${sparseIndexPath("hourly")}` },
  { what: "an empty filtered file", target: `30d/${sparseIndexPath("dated")}` },
  { what: "a database time", target: `7d/${sparseIndexPath("dated")}` },
  { what: "HEAD of a filtered file", method: "HEAD", target: `7d/${sparseIndexPath("headed")}` },
  { what: "a big filtered file (the edge finds its plain lines in place)", target: `7d/${sparseIndexPath("sizable")}` },
  { what: "an explanation of a big file", target: "7d/-/explain/sizable", headers: { accept: "application/json" } },
  { what: "a /0d/ file", target: `0d/${sparseIndexPath("passed")}` },
  { what: "config.json", target: "7d/config.json" },
  { what: "an explanation", target: "7d/-/explain/tagged" },
  { what: "an explanation in JSON", target: "7d/-/explain/dated", headers: { accept: "application/json" } },
  { what: "a bad window", target: "07d/config.json" },
  { what: "a bad path", target: "7d/ta/gg/tagged" },
  { what: "an unknown crate", target: `7d/${sparseIndexPath("absent")}` },
  { what: "a POST", method: "POST", target: `7d/${sparseIndexPath("tagged")}` },
  { what: "an upstream 500", target: `7d/${sparseIndexPath("failing")}` },
  { what: "an upstream 429 with Retry-After", target: `7d/${sparseIndexPath("limited")}` },
  { what: "an upstream 403", target: `7d/${sparseIndexPath("forbidden")}` },
];

let upstream: FixtureUpstream;
const homes: RunningHome[] = [];

beforeAll(async () => {
  upstream = await FixtureUpstream.start({ lifetimeMs: LIFETIME_MS });
  const versions = [
    { vers: "1.0.0", publishedAt: T0 - 30 * DAY },
    { vers: "1.1.0", publishedAt: T0 - 20 * DAY, yanked: true },
    { vers: "1.2.0", publishedAt: T0 - 2 * DAY },
    { vers: "1.3.0", publishedAt: T0 - 1_000 },
  ];
  upstream.set("/config.json", {
    body: '{"dl":"https://static.crates.io/crates","api":"https://crates.io"}\n',
    headers: { "content-type": "application/json" },
  });
  // One file per request that caches it: a copy a home has held for a while has less lifetime left (max-age − Age).
  for (const name of ["tagged", "hourly", "headed"]) {
    upstream.set(`/${sparseIndexPath(name)}`, {
      body: indexFile(name, versions),
      headers: { "cache-control": "public, max-age=600" },
    });
  }
  upstream.set(`/${sparseIndexPath("passed")}`, {
    body: indexFile("passed", versions),
    headers: { "cache-control": "public, max-age=600", "content-type": "text/plain" },
  });
  upstream.set(`/${sparseIndexPath("untagged")}`, {
    body: indexFile("untagged", versions),
    noEtag: true,
    headers: { "cache-control": "public, max-age=600" },
  });
  upstream.set(`/${sparseIndexPath("dated")}`, {
    body: indexFile("dated", [{ vers: "0.1.0" }, { vers: "0.2.0" }]),
    headers: { "cache-control": "public, max-age=600" },
  });
  // Over the edge's plain-line thresholds (ENGINE_PLAIN_LINES): 1,300 lines of crates.io's shape, every 17th yanked,
  // the newest an hour old, each version's time in the timestamp store.
  const sizable = syntheticIndexFile({ crate: "sizable", versions: 1_300, depsPerLine: 4, now: T0 });
  upstream.set(`/${sparseIndexPath("sizable")}`, {
    body: sizable.text,
    headers: { "cache-control": "public, max-age=600" },
  });
  const sizableTimes = sizable.versions.map((version, index) => ({
    crate: "sizable",
    version,
    publishedAt: sizable.times[index] as number,
  }));
  upstream.set(`/${sparseIndexPath("failing")}`, { body: "down\n", status: 500 });
  upstream.set(`/${sparseIndexPath("limited")}`, {
    body: "slow down\n",
    status: 429,
    headers: { "retry-after": "30" },
  });
  upstream.set(`/${sparseIndexPath("forbidden")}`, { body: "no\n", status: 403 });
  for (const kind of HOMES) {
    const home = await startHome(kind, { upstream: upstream.url, clock: () => T0, lifetimeMs: LIFETIME_MS });
    homes.push(home);
    home.recordTimes([{ crate: "dated", version: "0.1.0", publishedAt: T0 - 9 * DAY }, ...sizableTimes]);
  }
});

afterAll(async () => {
  for (const home of homes) await home.close();
  await upstream?.close();
  closeClient();
});

describe.skipIf(HOMES.length < 2)(`every home (${HOMES.join(", ")}) answering the same request`, () => {
  it.each(REQUESTS)(
    "gives the same status, body and promised headers for $what",
    async ({ method, target, headers }) => {
      const answers: [string, Answer][] = [];
      for (const home of homes)
        answers.push([home.kind, await send(home.url, target, { method: method ?? "GET", headers: headers ?? {} })]);
      const [[firstKind, first]] = answers as [[string, Answer]];
      const promised = (answer: Answer) => Object.fromEntries(PROMISED.map((name) => [name, answer.headers[name]]));
      for (const [kind, answer] of answers.slice(1)) {
        expect(
          { status: answer.status, body: answer.text, headers: promised(answer) },
          `${kind} (received) against ${firstKind} (expected)`,
        ).toEqual({
          status: first.status,
          body: first.text,
          headers: promised(first),
        });
      }
    },
  );
});
