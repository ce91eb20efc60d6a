import { afterEach, describe, expect, it, vi } from "vitest";
import { resetKvStores, seedKvStore } from "./fastly-doubles/kv-store.ts";

type FetchListener = (event: { request: Request; respondWith(response: Promise<Response>): void }) => void;

describe("the Compute entry point (src/edge/main.ts)", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    resetKvStores();
  });

  it("registers one fetch listener that answers each request with the edge handler", async () => {
    seedKvStore("cooldown_times", {});
    const listeners: Array<[string, FetchListener]> = [];
    vi.stubGlobal("addEventListener", (type: string, listener: FetchListener) => listeners.push([type, listener]));
    // Imported by a computed path so Node's type program never pulls in the SDK's global types.
    const entry = "../../src/edge/main.ts";
    await import(/* @vite-ignore */ entry);
    expect(listeners.map(([type]) => type)).toEqual(["fetch"]);

    const answered: Array<Promise<Response>> = [];
    listeners[0]?.[1]({
      request: new Request("https://cooldown.example/7d/not%20a%20crate"),
      respondWith: (r) => answered.push(r),
    });
    expect(answered).toHaveLength(1);
    const response = await answered[0];
    // A refused path never reaches upstream, so the real wiring answers without any network.
    expect(response?.status).toBe(404);
    expect(response?.headers.get("x-compress-hint")).toBe("on");
  });
});
