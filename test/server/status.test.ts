import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startCooldownServer } from "../../src/server/start-server.ts";
import { META_KEYS } from "../../src/store/meta-keys.ts";
import { TimestampDatabase } from "../../src/store/timestamp-database.ts";
import { FixedClock } from "../support/in-memory-ports.ts";
import { send, testClient } from "./http-client.ts";

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0) / 1000;

afterAll(async () => {
  await testClient.close();
});

describe("GET /-/status on the Node server", () => {
  it("reports the database's freshness, picked up without a restart, and flags stale data", async () => {
    const directory = mkdtempSync(join(tmpdir(), "cooldown-status-"));
    const dbPath = join(directory, "timestamps.sqlite");
    const server = await startCooldownServer({
      listen: "127.0.0.1:0",
      upstream: "http://127.0.0.1:9",
      dbPath,
      quiet: true,
      clock: new FixedClock(NOW),
    });
    try {
      const before = JSON.parse((await send(`${server.url}-/status`)).body.toString());
      expect(before).toMatchObject({
        service: "crates-cooldown",
        home: "node",
        data: { dump_watermark: null, stale: true },
      });
      expect(before.rules.pre_pubtime_inference.enabled).toBe(false);

      const ingest = new TimestampDatabase(dbPath);
      ingest.setMeta(META_KEYS.dumpWatermark, String(NOW - 50 * 3600));
      ingest.setMeta(META_KEYS.feedLastPoll, String(NOW - 120));
      ingest.setMeta(
        META_KEYS.feedGaps,
        JSON.stringify([{ from: NOW - 7200, to: NOW - 3600, detectedAt: NOW - 3600 }]),
      );
      ingest.close();

      const after = JSON.parse((await send(`${server.url}-/status`)).body.toString());
      expect(after.data).toMatchObject({
        dump_watermark: "2026-11-20T10:00:00Z",
        last_feed_poll: "2026-11-22T11:58:00Z",
        feed_gap: { from: "2026-11-22T10:00:00Z", to: "2026-11-22T11:00:00Z" },
        stale: true,
      });
      expect(after.data.problems).toHaveLength(2);
      expect(after.data.problems[0]).toContain("over 48 hours ago");
    } finally {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
