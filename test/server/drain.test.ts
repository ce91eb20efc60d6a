import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Pool } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FixtureUpstream } from "../support/fixture-upstream.ts";
import { CliProcess } from "./cli-process.ts";
import { DAY, indexFile, nowSeconds } from "./index-lines.ts";

/** What `serve` documents: in-flight requests get 5 s, and the process is gone within a second after that. */
const DRAIN_MS = 5_000;
const KEEP_ALIVE_CLIENTS = 6;

let upstream: FixtureUpstream;
let directory: string;

beforeAll(async () => {
  upstream = await FixtureUpstream.start({ lifetimeMs: 60_000 });
  upstream.set("/se/rd/serde", {
    body: indexFile("serde", [{ vers: "1.0.0", publishedAt: nowSeconds() - 30 * DAY }]),
    headers: { "cache-control": "public, max-age=300" },
  });
  // Answers long after the drain is over (and after the server's upstream timeout would end it).
  upstream.set("/ha/ng/hang", { body: indexFile("hang", [{ vers: "1.0.0" }]), delayMs: 50_000 });
  directory = mkdtempSync(join(tmpdir(), "cooldown-drain-"));
});

afterAll(async () => {
  await upstream.close();
  rmSync(directory, { recursive: true, force: true });
});

interface Outcome {
  readonly at: number;
  readonly status?: number;
  readonly connection?: string;
  readonly retryAfter?: string;
  readonly error?: string;
}

/** One keep-alive connection asking again and again until the server refuses it (or 15 s pass). */
async function keepAliveClient(url: string, outcomes: Outcome[]): Promise<void> {
  const pool = new Pool(new URL(url).origin, { connections: 1, pipelining: 1, keepAliveTimeout: 30_000 });
  const stopAt = performance.now() + 15_000;
  try {
    while (performance.now() < stopAt) {
      try {
        const answer = await pool.request({ path: "/7d/se/rd/serde", method: "GET" });
        await answer.body.arrayBuffer();
        outcomes.push({
          at: performance.now(),
          status: answer.statusCode,
          connection: String(answer.headers.connection),
        });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        outcomes.push({ at: performance.now(), error: code });
        return;
      }
    }
  } finally {
    await pool.destroy();
  }
}

describe("serve stops on SIGTERM within the drain time", () => {
  it("answers a request still waiting on upstream 503 with Retry-After, closes keep-alive connections after an answer, resets none, and exits within drain time + 1 s", async () => {
    const server = CliProcess.run([
      "serve",
      "--listen",
      "127.0.0.1:0",
      "--db",
      join(directory, "timestamps.sqlite"),
      "--upstream",
      upstream.url,
      "--upstream-timeout",
      "60",
      "--quiet",
    ]);
    try {
      const url = (await server.firstLine()).slice("listening on ".length);
      const hanging = new Pool(new URL(url).origin, { connections: 1 });
      const hangingAnswer: Promise<Outcome> = hanging
        .request({ path: "/7d/ha/ng/hang", method: "GET", headersTimeout: 20_000 })
        .then(async (answer) => {
          await answer.body.arrayBuffer();
          return {
            at: performance.now(),
            status: answer.statusCode,
            connection: String(answer.headers.connection),
            retryAfter: String(answer.headers["retry-after"]),
          };
        })
        .catch((error: Error) => ({
          at: performance.now(),
          error: (error as NodeJS.ErrnoException).code ?? error.message,
        }));
      const outcomes: Outcome[][] = Array.from({ length: KEEP_ALIVE_CLIENTS }, () => []);
      const clients = outcomes.map((each) => keepAliveClient(url, each));
      // Every client is busy on its connection, and the hanging request has reached upstream.
      while (outcomes.some((each) => each.length < 20)) await sleep(20);
      await sleep(200);

      const signalled = performance.now();
      server.child.kill("SIGTERM");
      const exited = await server.exited;
      const exitedAt = performance.now();
      const hangingOutcome = await hangingAnswer;
      await Promise.all(clients);
      await hanging.destroy();

      expect(exited).toEqual({ code: 0, signal: null });
      expect(exitedAt - signalled).toBeLessThanOrEqual(DRAIN_MS + 1_000);
      // The waiting request had its drain time, then an answer instead of a cut connection.
      expect(hangingOutcome).toMatchObject({ status: 503, retryAfter: "5", connection: "close" });
      expect(hangingOutcome.at - signalled).toBeGreaterThanOrEqual(DRAIN_MS - 500);
      for (const each of outcomes) {
        const last = each.at(-1) as Outcome;
        const answers = each.filter((outcome) => outcome.status !== undefined);
        // Each client's last answer said `Connection: close`; its next request found the port closed, never a reset.
        expect(answers.every((outcome) => outcome.status === 200)).toBe(true);
        expect(answers.at(-1)?.connection).toBe("close");
        expect(last.error).toBe("ECONNREFUSED");
        expect(last.at - signalled).toBeLessThan(DRAIN_MS);
      }
    } finally {
      await server.stop();
    }
  }, 30_000);
});
