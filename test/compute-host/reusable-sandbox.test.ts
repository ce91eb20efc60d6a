/**
 * Reusable sandboxes (`fastly:experimental` setReusableSandboxOptions): the host hands an instance that asks for its
 * next request (fastly_http_downstream.next_request_wait) the next one queued, as Viceroy does, and reports each
 * request's own share of `_start`. Driven by a program built with js-compute-runtime (guests/reusable.js).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BuiltGuest, buildGuest } from "./build-guest.ts";
import { type RequestTiming, type RunningComputeHost, startComputeHost } from "./compute-host.ts";

const DAY_MS = 86_400_000;

interface Answer {
  readonly served: number;
  readonly method: string;
  readonly path: string;
  readonly header: string | null;
  readonly body: string;
  readonly now: number;
  readonly setting: string | null;
}

let guest: BuiltGuest;
let host: RunningComputeHost;
let clockOffsetMs = 0;
const logs: string[] = [];
const timings: RequestTiming[] = [];

beforeAll(async () => {
  guest = await buildGuest("test/compute-host/guests/reusable.js");
  host = await startComputeHost({
    wasmPath: guest.wasmPath,
    listen: "127.0.0.1:0",
    backends: {},
    configStores: { probe_config: { setting: "first" } },
    httpCache: "memory",
    workers: 1,
    clock: () => Date.now() + clockOffsetMs,
    log: (line) => logs.push(line),
    onTiming: (timing) => timings.push(timing),
  });
  // Stops by itself even if afterAll never runs.
  setTimeout(() => void host.close(), 60_000).unref();
}, 120_000);

afterAll(async () => {
  await host?.close();
  await guest?.remove();
});

async function ask(path: string, init?: RequestInit): Promise<Answer> {
  const response = await fetch(host.url + path.slice(1), init);
  expect(response.status).toBe(200);
  return (await response.json()) as Answer;
}

/** Lets the waiting instance give up (its 400 ms), so the next request starts a fresh one. */
async function afterInstanceEnds(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 900));
}

describe("reusable sandboxes", () => {
  it("serves further requests with the same instance, up to its maxRequests, each with its own request", async () => {
    await afterInstanceEnds();
    const before = timings.length;
    const first = await ask("/a", { headers: { "x-probe": "one" } });
    const second = await ask("/b", { method: "POST", body: "posted" });
    const third = await ask("/c");
    const fourth = await ask("/d");
    expect([first.served, second.served, third.served, fourth.served]).toEqual([1, 2, 3, 1]);
    expect([first.path, second.path, third.path, fourth.path]).toEqual(["/a", "/b", "/c", "/d"]);
    expect(first.header).toBe("one");
    expect(second.header).toBeNull();
    expect(second).toMatchObject({ method: "POST", body: "posted" });
    expect(third).toMatchObject({ method: "GET", body: "" });

    await host.settled();
    const reported = timings.slice(before);
    expect(reported.map((timing) => [timing.path, timing.instanceRequest])).toEqual([
      ["/a", 1],
      ["/b", 2],
      ["/c", 3],
      ["/d", 1],
    ]);
    expect(reported[0]!.instantiateMs).toBeGreaterThan(0);
    expect(reported[1]!.instantiateMs).toBe(0);
    expect(reported[3]!.instantiateMs).toBeGreaterThan(0);
    for (const timing of reported) {
      expect(timing.startWallMs).toBeGreaterThan(0);
      expect(timing.startCpuMs === null || timing.startCpuMs > 0).toBe(true);
    }
  });

  it("gives a reused instance the clock and the Config Stores as its new request finds them", async () => {
    await afterInstanceEnds();
    const first = await ask("/clock");
    clockOffsetMs += DAY_MS;
    host.setConfigEntry("probe_config", "setting", "second");
    const second = await ask("/clock");
    expect(second.served).toBe(first.served + 1);
    expect(first.setting).toBe("first");
    expect(second.setting).toBe("second");
    expect(second.now - first.now).toBeGreaterThanOrEqual(DAY_MS);
    expect(second.now - first.now).toBeLessThan(DAY_MS + 10_000);
  });

  it("starts a fresh instance once the waiting one's betweenRequestTimeoutMs has passed, quietly", async () => {
    await afterInstanceEnds();
    const logged = logs.length;
    expect((await ask("/early")).served).toBe(1);
    await afterInstanceEnds();
    expect((await ask("/late")).served).toBe(1);
    expect(logs.slice(logged)).toEqual([]);
  });

  it("keeps one instance for requests sent back to back while it waits", async () => {
    await afterInstanceEnds();
    const answers = await Promise.all(["/x", "/y", "/z"].map((path) => ask(path)));
    expect(answers.map((answer) => answer.served).sort()).toEqual([1, 2, 3]);
  });
});
