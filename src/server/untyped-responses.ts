import type { IncomingMessage, OutgoingHttpHeaders, RequestListener, ServerResponse } from "node:http";
import type { CooldownProxy } from "../core/proxy.ts";

/**
 * @hono/node-server gives every response that has a body and no Content-Type a `text/plain; charset=UTF-8` one
 * (`buildOutgoingHttpHeaders`). A pass-through (`/0d/`, `config.json`) must go out with upstream's headers exactly, and
 * HEAD (no body, so nothing added) must match GET. So the web side marks a response that has no Content-Type, and the
 * node side takes the added header and the mark off just before the head is written.
 */
const UNTYPED = "x-crates-cooldown-untyped";

export function markingUntypedResponses(handler: CooldownProxy): CooldownProxy {
  return async (request) => {
    const response = await handler(request);
    if (response.body !== null && !response.headers.has("content-type")) response.headers.set(UNTYPED, "1");
    return response;
  };
}

export function withoutAddedContentType(listener: RequestListener): RequestListener {
  return (request: IncomingMessage, response: ServerResponse) => {
    const writeHead = response.writeHead;
    response.writeHead = function (this: ServerResponse, statusCode: number, ...rest: unknown[]) {
      const headers = (typeof rest[0] === "string" ? rest[1] : rest[0]) as OutgoingHttpHeaders | undefined;
      if (headers !== undefined && headers !== null && !Array.isArray(headers) && headers[UNTYPED] !== undefined) {
        delete headers[UNTYPED];
        delete headers["content-type"];
      }
      return (writeHead as (...args: unknown[]) => ServerResponse).call(this, statusCode, ...rest);
    } as ServerResponse["writeHead"];
    listener(request, response);
  };
}
