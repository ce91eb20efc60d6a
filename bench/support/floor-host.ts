import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CRATES_IO_BACKEND } from "../../src/edge/backend-upstream.ts";
import { type RequestTiming, startComputeHost } from "../../test/compute-host/compute-host.ts";
import { buildEdgeWasm } from "../../test/support/edge-wasm.global.ts";
import { reportedTiming } from "./reported-timing.ts";

/** What floor-guest.ts does with an upstream file, from least to most. */
export type UpstreamStep = "pass" | "read" | "echo" | "decode";

/**
 * The floor of a request under the local Compute host: floor-guest.ts, built as the edge is, in its own host (one
 * worker, as the benchmarks measure the edge, with the same upstream and a warm HTTP cache once asked). Each call says
 * what the request cost.
 */
export interface FloorHost {
  /** Puts bytes in its Core Cache under `path`. */
  store(path: string, bytes: Uint8Array<ArrayBuffer>): Promise<void>;
  /** Answers the bytes stored under `path`: a hot answer with nothing decided. */
  cacheHit(path: string): Promise<RequestTiming>;
  /** Fetches `path` from upstream through the HTTP cache and does `step` with it. */
  upstream(path: string, step: UpstreamStep): Promise<RequestTiming>;
  close(): Promise<void>;
}

/** `upstreamUrl`: the loopback upstream the edge uses (ending in `/`), or none for cache hits only. */
export async function startFloorHost(upstreamUrl?: string): Promise<FloorHost> {
  const directory = mkdtempSync(join(tmpdir(), "floor-host-"));
  try {
    const wasmPath = join(directory, "floor.wasm");
    await buildEdgeWasm(wasmPath, "bench/support/floor-guest.ts");
    const timings: RequestTiming[] = [];
    const host = await startComputeHost({
      wasmPath,
      listen: "127.0.0.1:0",
      backends: upstreamUrl === undefined ? {} : { [CRATES_IO_BACKEND]: { url: upstreamUrl } },
      httpCache: "memory",
      workers: 1,
      log: () => {},
      onTiming: (timing) => timings.push(timing),
    });
    const send = async (path: string, init: RequestInit, status: number): Promise<RequestTiming> => {
      const before = timings.length;
      const response = await fetch(`${host.url}${path}`, init);
      const body = await response.arrayBuffer();
      if (response.status !== status)
        throw new Error(`floor guest ${path}: ${response.status} ${Buffer.from(body).toString()}`);
      return reportedTiming(timings, before, `floor guest ${path}`);
    };
    const identity = { headers: { "accept-encoding": "identity" } };
    return {
      store: async (path, bytes) => void (await send(`cache/${path}`, { method: "PUT", body: bytes }, 204)),
      cacheHit: (path) => send(`cache/${path}`, identity, 200),
      upstream: (path, step) => send(`upstream/${path}?do=${step}`, identity, 200),
      close: async () => {
        await host.close();
        rmSync(directory, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }
}
