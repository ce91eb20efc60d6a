import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { printable } from "../core/window.ts";

/** Where log lines go, one call per line, without the trailing newline. */
export type LogLine = (line: string) => void;

export const stderrLog: LogLine = (line) => {
  process.stderr.write(`${line}\n`);
};

/**
 * One line per request: `GET /7d/se/rd/serde 200 3.1ms`. By design it holds no client IP, User-Agent or query
 * string: the proxy learns which crates people build, and that stays unrecorded.
 */
export function withAccessLog(listener: RequestListener, log: LogLine): RequestListener {
  return (request: IncomingMessage, response: ServerResponse) => {
    const started = performance.now();
    response.once("close", () => {
      const ms = (performance.now() - started).toFixed(1);
      const status = response.writableFinished ? String(response.statusCode) : `${response.statusCode}-aborted`;
      log(`${printable(request.method ?? "-")} ${printable(requestPath(request.url ?? ""))} ${status} ${ms}ms`);
    });
    listener(request, response);
  };
}

/**
 * The path of a request target, without query or fragment. An absolute-form target (`GET http://user:secret@h/7d/…`,
 * as proxies send) gives its path only: scheme, userinfo and host never reach a log or a label.
 */
export function requestPath(target: string): string {
  let path = target;
  if (!path.startsWith("/")) {
    try {
      path = new URL(target).pathname;
    } catch {
      path = "";
    }
    // Neither origin-form nor absolute-form (`*`, garbage): nothing of it is worth writing down.
    if (!path.startsWith("/")) return "-";
  }
  const end = path.search(/[?#]/);
  return end === -1 ? path : path.slice(0, end);
}
