/**
 * A backend for host tests on 127.0.0.1: routes by path, counts requests per path, and closes by itself after
 * `lifetimeMs` so a failing test cannot leave it running.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { listenBounded } from "../support/bounded-loopback-server.ts";

export type OriginRoute = (request: IncomingMessage, response: ServerResponse) => void;

export interface LoopbackOrigin {
  readonly url: string;
  /** Requests seen per path (with query). */
  readonly hits: Map<string, number>;
  /** Host header of the last request per path. */
  readonly hosts: Map<string, string | undefined>;
  close(): Promise<void>;
}

export async function startLoopbackOrigin(
  routes: Record<string, OriginRoute>,
  lifetimeMs = 120_000,
): Promise<LoopbackOrigin> {
  const hits = new Map<string, number>();
  const hosts = new Map<string, string | undefined>();
  const server = createServer((request, response) => {
    const path = request.url ?? "/";
    hits.set(path, (hits.get(path) ?? 0) + 1);
    hosts.set(path, request.headers.host);
    const route = routes[path.split("?")[0]!];
    if (route === undefined) {
      response.writeHead(404).end("no such origin route");
      return;
    }
    route(request, response);
  });
  const { port, close } = await listenBounded(server, lifetimeMs);
  return { url: `http://127.0.0.1:${port}`, hits, hosts, close };
}
