import { describe, expect, it } from "vitest";
import { bodyBytesOf, knownBodyBytes, responseOfBytes } from "../../src/core/known-body.ts";
import { defaultRules } from "../../src/core/policy.ts";
import { createCooldownProxy } from "../../src/core/proxy.ts";
import { DAY, FixedClock, InMemoryPublishTimes, InMemoryUpstream, indexLine } from "../support/in-memory-ports.ts";

const bytesOf = (text: string) => new TextEncoder().encode(text) as Uint8Array<ArrayBuffer>;

describe("bodyBytesOf", () => {
  it("gives the very bytes a response was made from, without reading the response", async () => {
    const bytes = bytesOf("line 1\nline 2\n");
    const response = responseOfBytes(bytes, { status: 200, headers: { etag: '"e"' } });
    const taken = await bodyBytesOf(response);
    expect(taken).toBe(bytes);
    expect(response.headers.get("etag")).toBe('"e"');
  });

  it("reads any other response whole", async () => {
    const response = new Response("made from text\n");
    expect(new TextDecoder().decode(await bodyBytesOf(response))).toBe("made from text\n");
  });

  it("refuses a known response whose body was already read, as reading it again would", async () => {
    const response = responseOfBytes(bytesOf("once\n"), { status: 200 });
    await response.text();
    await expect(bodyBytesOf(response)).rejects.toThrow(TypeError);
  });

  it("gives the bytes of the core's filtered 200: exactly the body a client would read", async () => {
    const now = Date.UTC(2026, 10, 22, 12, 0, 0) / 1000;
    const old = indexLine({ name: "serde", vers: "1.0.0", pubtime: now - 30 * DAY });
    const young = indexLine({ name: "serde", vers: "1.0.1", pubtime: now - 2 * DAY });
    const upstream = new InMemoryUpstream().set("se/rd/serde", { body: old + young, headers: { etag: '"up"' } });
    const proxy = createCooldownProxy({
      upstream,
      publishTimes: new InMemoryPublishTimes(),
      clock: new FixedClock(now),
      rules: defaultRules(false),
    });
    const ask = () => proxy(new Request("http://proxy.test/3d/se/rd/serde"));
    const taken = await bodyBytesOf(await ask());
    expect(new TextDecoder().decode(taken)).toBe(old);
    expect(new TextDecoder().decode(taken)).toBe(await (await ask()).text());
  });
});

describe("knownBodyBytes", () => {
  it("gives the bytes a response was made from and leaves the response to be sent as it is", async () => {
    const bytes = bytesOf("line 1\nline 2\n");
    const response = responseOfBytes(bytes, { status: 200 });
    expect(knownBodyBytes(response)).toBe(bytes);
    expect(response.bodyUsed).toBe(false);
    expect(await response.text()).toBe("line 1\nline 2\n");
  });

  it("knows nothing of a response it did not see made, or whose body was read", async () => {
    expect(knownBodyBytes(new Response("made from text\n"))).toBeNull();
    const read = responseOfBytes(bytesOf("once\n"), { status: 200 });
    await read.arrayBuffer();
    expect(knownBodyBytes(read)).toBeNull();
  });
});
