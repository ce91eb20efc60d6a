import { KVStore } from "fastly:kv-store";
import type { PublishTimes } from "../core/ports.ts";
import { type CrateRecord, decodeCrateRecord, RecordFormatError } from "../core/publish-times.ts";

/** The KV store the ingest job fills: key = lowercased crate name, value = a record in the core's codec. */
export const PUBLISH_TIMES_STORE = "cooldown_times";

export function kvPublishTimes(storeName: string = PUBLISH_TIMES_STORE): PublishTimes {
  let store: KVStore | undefined;
  return {
    async lookup(crate: string): Promise<CrateRecord | null> {
      // Opened on first use: Compute allows a KVStore only while handling a request, never at build time.
      store ??= new KVStore(storeName);
      const key = crate.toLowerCase();
      const entry = await store.get(key);
      if (entry === null) return null;
      const record = decodeCrateRecord(await entry.text());
      // Another crate's times under this key would be a writer bug; using them could show a version too early.
      if (record.crate !== key) {
        throw new RecordFormatError(
          `publish-time record under key ${key} is for crate ${JSON.stringify(record.crate)}`,
        );
      }
      return record;
    },
  };
}
