import { describe, expect, it } from "vitest";
import { rulesForUpstream } from "../../src/node/pre-pubtime-inference.ts";
import { isCratesIoIndex, parseUpstreamUrl } from "../../src/node/upstream-url.ts";
import { UserError } from "../../src/node/user-error.ts";

describe("parseUpstreamUrl", () => {
  it("always ends the URL with a slash, so index paths append", () => {
    expect(parseUpstreamUrl("https://index.crates.io").href).toBe("https://index.crates.io/");
    expect(parseUpstreamUrl("http://127.0.0.1:9000/mirror").href).toBe("http://127.0.0.1:9000/mirror/");
  });

  it.each([
    "index.crates.io",
    "ftp://index.crates.io",
    "https://index.crates.io/?a=1",
    "https://user:pw@index.crates.io",
  ])("refuses %j", (text) => {
    expect(() => parseUpstreamUrl(text)).toThrow(UserError);
  });
});

describe("pre-pubtime inference", () => {
  it("is on in auto mode for exactly https://index.crates.io", () => {
    expect(isCratesIoIndex(parseUpstreamUrl("https://index.crates.io/"))).toBe(true);
    expect(rulesForUpstream("auto", parseUpstreamUrl("https://index.crates.io")).prePubtimeInference.enabled).toBe(
      true,
    );
  });

  it("is off in auto mode for any other upstream", () => {
    for (const other of ["http://index.crates.io", "https://index.crates.io:8443", "http://127.0.0.1:9000"]) {
      expect(rulesForUpstream("auto", parseUpstreamUrl(other)).prePubtimeInference.enabled).toBe(false);
    }
  });

  it("follows on and off whatever the upstream", () => {
    expect(rulesForUpstream("on", parseUpstreamUrl("http://127.0.0.1:9000")).prePubtimeInference.enabled).toBe(true);
    expect(rulesForUpstream("off", parseUpstreamUrl("https://index.crates.io")).prePubtimeInference.enabled).toBe(
      false,
    );
  });
});
