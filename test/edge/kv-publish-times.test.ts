import { beforeEach, describe, expect, it } from "vitest";
import { encodeCrateRecord, RecordFormatError } from "../../src/core/publish-times.ts";
import { kvPublishTimes } from "../../src/edge/kv-publish-times.ts";
import { kvLog, resetKvStores, seedKvStore } from "./fastly-doubles/kv-store.ts";

const serde = encodeCrateRecord({
  crate: "serde",
  versions: new Map([
    ["1.0.0", 1_494_547_386],
    ["1.0.1", 1_495_000_000],
  ]),
});

describe("publish times from the cooldown_times KV store", () => {
  beforeEach(() => {
    resetKvStores();
    seedKvStore("cooldown_times", { serde });
  });

  it("reads the record under the lowercased crate name from the store named cooldown_times", async () => {
    await kvPublishTimes().lookup("SerDe");
    expect(kvLog.gets).toEqual([{ store: "cooldown_times", key: "serde" }]);
  });

  it("decodes the value with the core's record codec", async () => {
    const record = await kvPublishTimes().lookup("serde");
    expect(record?.crate).toBe("serde");
    expect([...(record?.versions ?? [])]).toEqual([
      ["1.0.0", 1_494_547_386],
      ["1.0.1", 1_495_000_000],
    ]);
  });

  it("answers null when the store has no record for the crate", async () => {
    expect(await kvPublishTimes().lookup("tokio")).toBeNull();
  });

  it("opens the store only when a lookup happens, never when the adapter is created (Compute refuses stores at build time)", async () => {
    const times = kvPublishTimes();
    expect(kvLog.opened).toEqual([]);
    await times.lookup("serde");
    await times.lookup("tokio");
    expect(kvLog.opened).toEqual(["cooldown_times"]);
  });

  it("refuses a record in a format version this build does not read", async () => {
    seedKvStore("cooldown_times", { serde: '{"v":2,"crate":"serde","times":{}}' });
    await expect(kvPublishTimes().lookup("serde")).rejects.toBeInstanceOf(RecordFormatError);
  });

  it("refuses a record written for another crate rather than use its times", async () => {
    seedKvStore("cooldown_times", {
      serde: encodeCrateRecord({ crate: "serde_json", versions: new Map([["1.0.0", 1]]) }),
    });
    await expect(kvPublishTimes().lookup("serde")).rejects.toThrow(/under key serde is for crate "serde_json"/);
  });
});
