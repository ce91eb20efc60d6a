import { execFile } from "node:child_process";
import { createRequire } from "node:module";

/** What one load run measured. */
export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly requests: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly bytesPerSecond: number;
  readonly non2xx: number;
  readonly errors: number;
}

export interface LoadOptions {
  readonly connections: number;
  readonly seconds: number;
  readonly headers?: Readonly<Record<string, string>>;
}

const AUTOCANNON_CLI = createRequire(import.meta.url).resolve("autocannon");

/**
 * Runs autocannon's CLI in its own process (so the load generator does not share a core's event loop with anything
 * else here) and reads its JSON result.
 */
export function runLoad(url: string, options: LoadOptions): Promise<LoadResult> {
  const args = [
    AUTOCANNON_CLI,
    "--json",
    "--no-progress",
    "-c",
    String(options.connections),
    "-d",
    String(options.seconds),
  ];
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push("-H", `${name}=${value}`);
  args.push(url);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout) => {
      if (error) return reject(error);
      const result = JSON.parse(stdout) as {
        requests: { average: number; total: number };
        latency: { p50: number; p99: number };
        throughput: { average: number };
        non2xx: number;
        errors: number;
      };
      resolve({
        requestsPerSecond: result.requests.average,
        requests: result.requests.total,
        latencyP50Ms: result.latency.p50,
        latencyP99Ms: result.latency.p99,
        bytesPerSecond: result.throughput.average,
        non2xx: result.non2xx,
        errors: result.errors,
      });
    });
  });
}
