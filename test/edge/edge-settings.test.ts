import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CRATES_IO_PUBTIME_SWITCH_ON } from "../../src/core/policy.ts";
import { cratesIoRulesWith, DEFAULT_EDGE_SETTINGS, readEdgeSettings } from "../../src/edge/edge-settings.ts";
import { resetConfigStores, seedConfigStore } from "./fastly-doubles/config-store.ts";

describe("edge settings from the cooldown_config Config Store", () => {
  beforeEach(() => resetConfigStores());
  afterEach(() => vi.restoreAllMocks());

  it("runs on defaults (60 s cache cap, inference on, answer cache, kept scans and plain lines on) when the store is not linked to the service", () => {
    const defaults = {
      upstreamMaxTtlSeconds: 60,
      prePubtimeInference: true,
      answerCache: true,
      scanCache: true,
      plainLines: true,
      serverTiming: false,
      logEndpoint: null,
    };
    expect(readEdgeSettings()).toEqual(defaults);
    expect(DEFAULT_EDGE_SETTINGS).toEqual(defaults);
  });

  it("runs on defaults for keys the store does not have", () => {
    seedConfigStore("cooldown_config", {});
    expect(readEdgeSettings()).toEqual(DEFAULT_EDGE_SETTINGS);
  });

  it("reads upstream_max_ttl_seconds, pre_pubtime_inference, answer_cache, scan_cache, plain_lines, server_timing and log_endpoint", () => {
    seedConfigStore("cooldown_config", {
      upstream_max_ttl_seconds: "300",
      pre_pubtime_inference: "off",
      answer_cache: "off",
      scan_cache: "off",
      plain_lines: "off",
      server_timing: "on",
      log_endpoint: " decisions ",
    });
    expect(readEdgeSettings()).toEqual({
      upstreamMaxTtlSeconds: 300,
      prePubtimeInference: false,
      answerCache: false,
      scanCache: false,
      plainLines: false,
      serverTiming: true,
      logEndpoint: "decisions",
    });
  });

  it("has no decision log when log_endpoint is empty or only spaces", () => {
    for (const value of ["", "  "]) {
      seedConfigStore("cooldown_config", { log_endpoint: value });
      expect(readEdgeSettings().logEndpoint).toBeNull();
    }
  });

  it("keeps the default and warns (without the request) when a value cannot be read", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    seedConfigStore("cooldown_config", {
      upstream_max_ttl_seconds: "5m",
      pre_pubtime_inference: "yes",
      answer_cache: "maybe",
    });
    expect(readEdgeSettings()).toEqual(DEFAULT_EDGE_SETTINGS);
    expect(warn).toHaveBeenCalledTimes(3);
    expect(String(warn.mock.calls[0]?.[0])).toContain("upstream_max_ttl_seconds");
    expect(String(warn.mock.calls[1]?.[0])).toContain('expected "on" or "off"');
  });

  it("turns the pre-pubtime inference of the crates.io rules on and off", () => {
    const on = cratesIoRulesWith({ ...DEFAULT_EDGE_SETTINGS, prePubtimeInference: true });
    const off = cratesIoRulesWith({ ...DEFAULT_EDGE_SETTINGS, prePubtimeInference: false });
    expect(on.prePubtimeInference).toEqual({ enabled: true, switchedOnBy: CRATES_IO_PUBTIME_SWITCH_ON });
    expect(off.prePubtimeInference).toEqual({ enabled: false, switchedOnBy: CRATES_IO_PUBTIME_SWITCH_ON });
  });
});
