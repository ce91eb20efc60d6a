import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { decodeFreshness, FRESHNESS_KV_KEY } from "../../src/core/freshness.ts";
import { decodeCrateRecord } from "../../src/core/publish-times.ts";
import { exportKvStore } from "../../src/kv/kv-export.ts";
import { pushToKv } from "../../src/kv/kv-push.ts";
import { META_KEYS } from "../../src/store/meta-keys.ts";
import { TimestampDatabase } from "../../src/store/timestamp-database.ts";
import { startFakeFastlyApi } from "../support/fake-fastly-api.ts";
import {
  cleanUpTestFolders,
  crateEntries,
  databaseWithCrates,
  expectedKvValues,
  testFolder,
} from "./kv-test-database.ts";

afterEach(cleanUpTestFolders);

describe("kv export", () => {
  it("writes a JSON object of key → string value: every crate's record as the database holds it, plus the freshness key", () => {
    const { database } = databaseWithCrates(30);
    database.setMeta(META_KEYS.dumpWatermark, "1790000000");
    const out = join(testFolder(), "local-kv-store.json");
    const summary = exportKvStore(database, out);
    const file = JSON.parse(readFileSync(out, "utf8")) as Record<string, unknown>;
    expect(summary).toMatchObject({ crates: 30, skipped: 0, bytes: readFileSync(out).length });
    for (const value of Object.values(file)) expect(typeof value).toBe("string");
    const crates = new Map(Object.entries(file as Record<string, string>).filter(([key]) => key !== FRESHNESS_KV_KEY));
    expect(crates).toEqual(expectedKvValues(database));
    for (const [key, value] of crates)
      expect(new Map(decodeCrateRecord(value).versions)).toEqual(database.recordFor(key)?.versions);
    expect(decodeFreshness(file[FRESHNESS_KV_KEY] as string)).toMatchObject({
      dumpWatermark: 1_790_000_000,
      lastKvPush: null,
    });
    database.close();
  });

  it("writes each record in the documented format, byte for byte, as kv push does (checked against literals, not the codec)", async () => {
    const database = new TimestampDatabase(join(testFolder(), "timestamps.sqlite"));
    database.record([
      { crate: "serde", version: "1.0.1", publishedAt: 1_700_003_600 },
      { crate: "Serde", version: "1.0.0", publishedAt: 1_700_000_000 },
      { crate: "time", version: "0.1.0", publishedAt: 1_600_000_000 },
    ]);
    database.replaceAdvisories([{ id: "RUSTSEC-2020-0071", crate: "time", patched: [">=0.2.23"], withdrawn: false }]);
    const expected = {
      serde: '{"v":1,"crate":"serde","times":{"1.0.0":1700000000,"1.0.1":1700003600}}',
      time: '{"v":2,"crate":"time","times":{"0.1.0":1600000000},"advisories":[{"id":"RUSTSEC-2020-0071","patched":[">=0.2.23"]}]}',
    };
    const out = join(testFolder(), "kv.json");
    exportKvStore(database, out);
    const file = JSON.parse(readFileSync(out, "utf8")) as Record<string, string>;
    expect({ serde: file.serde, time: file.time }).toEqual(expected);
    const api = await startFakeFastlyApi();
    await pushToKv({ database, storeId: "s", token: api.token, apiUrl: api.url });
    expect(Object.fromEntries(crateEntries(api.store("s")))).toEqual(expected);
    await api.close();
    database.close();
  });

  it("writes exactly the values kv push writes", async () => {
    const { database } = databaseWithCrates(25);
    const api = await startFakeFastlyApi();
    await pushToKv({ database, storeId: "s", token: api.token, apiUrl: api.url });
    const out = join(testFolder(), "kv.json");
    exportKvStore(database, out);
    const file = JSON.parse(readFileSync(out, "utf8")) as Record<string, string>;
    expect(crateEntries(new Map(Object.entries(file)))).toEqual(crateEntries(api.store("s")));
    await api.close();
    database.close();
  });

  it("replaces an existing file whole, through a temporary file that does not stay behind", () => {
    const { path, database } = databaseWithCrates(3);
    database.close();
    const folder = testFolder();
    const out = join(folder, "kv.json");
    writeFileSync(out, "old content");
    const readOnly = new TimestampDatabase(path, { readonly: true });
    exportKvStore(readOnly, out);
    readOnly.close();
    expect(Object.keys(JSON.parse(readFileSync(out, "utf8")) as object)).toHaveLength(4);
    expect(readdirSync(folder)).toEqual(["kv.json"]);
  });

  it("leaves no file at all when it cannot write", () => {
    const { database } = databaseWithCrates(3);
    const out = join(testFolder(), "missing-folder", "kv.json");
    expect(() => exportKvStore(database, out)).toThrow(/ENOENT/);
    expect(existsSync(out)).toBe(false);
    database.close();
  });
});
