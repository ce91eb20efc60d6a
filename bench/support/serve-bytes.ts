/**
 * Child process: the fastest honest answer node:http can give — the same status, headers and body bytes for every
 * request, straight from memory. The baseline the proxy is measured against. The parent sends `{body, headers}`
 * (body base64) once; until then every request gets 503.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type ChildMessage, exitWhenParentLeaves } from "./child-server.ts";

let body: Buffer | null = null;
let headers: Record<string, string> = {};

process.on("message", (message: { body: string; headers: Record<string, string> }) => {
  body = Buffer.from(message.body, "base64");
  headers = { ...message.headers, "content-length": String(body.byteLength) };
  process.send?.({ ready: true } satisfies ChildMessage);
});

const server = createServer((_request, response) => {
  if (body === null) {
    response.writeHead(503).end();
    return;
  }
  response.writeHead(200, headers).end(body);
});
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  process.send?.({ listening: `http://127.0.0.1:${port}/` } satisfies ChildMessage);
});
exitWhenParentLeaves(
  () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
);
