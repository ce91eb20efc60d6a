import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startCooldownServer } from "../../src/server/start-server.ts";
import { TimestampDatabase } from "../../src/store/timestamp-database.ts";
import { FixtureUpstream } from "../support/fixture-upstream.ts";
import { FixedClock } from "../support/in-memory-ports.ts";
import { header, send, testClient } from "./http-client.ts";
import { DAY, indexFile } from "./index-lines.ts";

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0) / 1000;

afterAll(async () => {
  await testClient.close();
});

describe("GET /<window>/-/explain/<crate> on the Node server", () => {
  it("explains from the database where lines have no pubtime, as text and JSON, with the index routes' errors", async () => {
    const directory = mkdtempSync(join(tmpdir(), "cooldown-explain-"));
    const upstream = await FixtureUpstream.start();
    upstream.set("/se/rd/serde", {
      body: indexFile("serde", [{ vers: "1.0.0" }, { vers: "1.0.1", publishedAt: NOW - DAY }]),
    });
    const dbPath = join(directory, "timestamps.sqlite");
    const db = new TimestampDatabase(dbPath);
    db.record([{ crate: "serde", version: "1.0.0", publishedAt: NOW - 20 * DAY }]);
    db.close();
    const server = await startCooldownServer({
      listen: "127.0.0.1:0",
      upstream: upstream.url,
      dbPath,
      quiet: true,
      clock: new FixedClock(NOW),
    });
    try {
      const text = await send(`${server.url}7d/-/explain/serde`);
      expect(header(text, "content-type")).toMatch(/^text\/plain/);
      expect(text.body.toString()).toMatch(/1\.0\.0\s+2026-11-02T12:00:00Z\s+database\s+yes/);
      const json = JSON.parse(
        (await send(`${server.url}7d/-/explain/serde`, { headers: { accept: "application/json" } })).body.toString(),
      );
      expect(
        json.versions.map((v: { version: string; source: string; visible: boolean }) => [
          v.version,
          v.source,
          v.visible,
        ]),
      ).toEqual([
        ["1.0.0", "database", true],
        ["1.0.1", "pubtime", false],
      ]);
      const unknown = await send(`${server.url}7d/-/explain/nosuch`);
      expect(unknown.status).toBe(404);
      expect(unknown.body.toString()).toContain('crate "nosuch" not found upstream');
      expect((await send(`${server.url}03d/-/explain/serde`)).status).toBe(404);
    } finally {
      await server.close();
      await upstream.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
