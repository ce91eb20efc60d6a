import { beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_POLICY, encodePolicy, PolicyError } from "../../src/core/policy-document.ts";
import { readKvPolicy } from "../../src/edge/kv-policy.ts";
import { kvLog, resetKvStores, seedKvStore } from "./fastly-doubles/kv-store.ts";

describe("the operator's policy from the cooldown_times KV store", () => {
  beforeEach(() => resetKvStores());

  it("reads the _policy key the job pushes next to the crates", async () => {
    const pushed = {
      ...DEFAULT_POLICY,
      yanked: "keep" as const,
      exceptions: [{ crate: "serde", version: "1.0.0", reason: "r", expires: 1_800_000_000 }],
    };
    seedKvStore("cooldown_times", { _policy: encodePolicy(pushed) });
    expect(await readKvPolicy()).toEqual(pushed);
    expect(kvLog.gets).toEqual([{ store: "cooldown_times", key: "_policy" }]);
  });

  it("uses the default policy when none was pushed", async () => {
    seedKvStore("cooldown_times", {});
    expect(await readKvPolicy()).toEqual(DEFAULT_POLICY);
  });

  it("refuses a policy record in a format this build does not read", async () => {
    seedKvStore("cooldown_times", { _policy: '{"v":9}' });
    await expect(readKvPolicy()).rejects.toBeInstanceOf(PolicyError);
    // Format 2 carries [trust]; one without it is refused, not half read.
    seedKvStore("cooldown_times", { _policy: '{"v":2}' });
    await expect(readKvPolicy()).rejects.toBeInstanceOf(PolicyError);
  });
});
