import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RequestTiming, startComputeHost } from "../../test/compute-host/compute-host.ts";
import { buildEdgeWasm } from "../../test/support/edge-wasm.global.ts";

/**
 * The floor of a cached answer under the local Compute host: bare-cache-hit-guest.ts, built as the edge is, in its own
 * host (one worker, as the benchmarks measure the edge). `store` puts bytes in its Core Cache; `ask` answers them and
 * says what the request cost.
 */
export interface BareCacheHit {
  store(path: string, bytes: Uint8Array<ArrayBuffer>): Promise<void>;
  ask(path: string): Promise<RequestTiming>;
  close(): Promise<void>;
}

export async function startBareCacheHit(): Promise<BareCacheHit> {
  const directory = mkdtempSync(join(tmpdir(), "bare-cache-hit-"));
  try {
    const wasmPath = join(directory, "bare-cache-hit.wasm");
    await buildEdgeWasm(wasmPath, "bench/support/bare-cache-hit-guest.ts");
    const timings: RequestTiming[] = [];
    const host = await startComputeHost({
      wasmPath,
      listen: "127.0.0.1:0",
      backends: {},
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
        throw new Error(`bare cache hit ${path}: ${response.status} ${Buffer.from(body).toString()}`);
      // The host reports a request's timing when its instance ends, which may be just after the response went out.
      for (let waited = 0; timings.length === before && waited < 1_000; waited++)
        await new Promise((resolve) => setTimeout(resolve, 1));
      const timing = timings[before];
      if (timing === undefined) throw new Error(`bare cache hit ${path}: the host reported no timing`);
      return timing;
    };
    return {
      store: async (path, bytes) => void (await send(path, { method: "PUT", body: bytes }, 204)),
      ask: (path) => send(path, { headers: { "accept-encoding": "identity" } }, 200),
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
