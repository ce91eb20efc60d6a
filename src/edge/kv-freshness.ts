import { KVStore } from "fastly:kv-store";
import {
  decodeFreshness,
  FRESHNESS_KV_KEY,
  type Freshness,
  type FreshnessSource,
  NO_FRESHNESS,
} from "../core/freshness.ts";
import { PUBLISH_TIMES_STORE } from "./kv-publish-times.ts";

/** How current the edge's publish times are: the record `kv push` writes next to the crates, for `/-/status`. */
export function kvFreshness(storeName: string = PUBLISH_TIMES_STORE): FreshnessSource {
  return {
    async freshness(): Promise<Freshness> {
      // Opened here, not earlier: Compute allows a KVStore only while handling a request.
      const entry = await new KVStore(storeName).get(FRESHNESS_KV_KEY);
      return entry === null ? NO_FRESHNESS : decodeFreshness(await entry.text());
    },
  };
}
