import { describe, expect, it } from "vitest";
import { UserError } from "../../src/node/user-error.ts";
import { baseUrlOf, parseListenAddress } from "../../src/server/listen-address.ts";

describe("parseListenAddress", () => {
  it("reads HOST:PORT", () => {
    expect(parseListenAddress("127.0.0.1:8080")).toEqual({ host: "127.0.0.1", port: 8080 });
    expect(parseListenAddress("localhost:0")).toEqual({ host: "localhost", port: 0 });
  });

  it("reads a bracketed IPv6 host", () => {
    expect(parseListenAddress("[::1]:8080")).toEqual({ host: "::1", port: 8080 });
  });

  it.each(["localhost", "8080", ":8080", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "a b:80", "::1:8080"])(
    "refuses %j with a message that shows what is accepted",
    (text) => {
      expect(() => parseListenAddress(text)).toThrow(UserError);
      expect(() => parseListenAddress(text)).toThrow(/expected e\.g\. 127\.0\.0\.1:8080/);
    },
  );
});

describe("baseUrlOf", () => {
  it("brackets IPv6 hosts", () => {
    expect(baseUrlOf({ host: "127.0.0.1", port: 80 })).toBe("http://127.0.0.1:80/");
    expect(baseUrlOf({ host: "::1", port: 8080 })).toBe("http://[::1]:8080/");
  });
});
