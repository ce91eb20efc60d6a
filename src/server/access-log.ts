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
      log(`${printable(request.method ?? "-")} ${printable(pathOf(request.url ?? ""))} ${status} ${ms}ms`);
    });
    listener(request, response);
  };
}

function pathOf(target: string): string {
  const query = target.indexOf("?");
  return query === -1 ? target : target.slice(0, query);
}
