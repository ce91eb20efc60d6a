import { Agent, request } from "node:http";

/** What a home answered, exactly as sent: no decompression, headers lowercased. */
export interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Buffer;
  readonly text: string;
}

/** Keep-alive within a file; sockets close by themselves when idle. */
const agent = new Agent({ keepAlive: true, maxSockets: 8, timeout: 60_000 });

/**
 * Sends exactly this request target (`..` and `%2e%2e` are not normalised away, unlike `fetch(url)`) with only the
 * headers given (no Accept-Encoding unless given: identity, so homes are compared on the same bytes).
 */
export function send(
  base: string,
  target: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const url = new URL(base);
  const path = `${url.pathname.replace(/\/$/, "")}/${target.replace(/^\//, "")}`;
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: url.hostname,
        port: url.port,
        method: options.method ?? "GET",
        path,
        agent,
        headers: options.headers ?? {},
        timeout: 60_000,
      },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
        incoming.on("error", reject);
        incoming.on("aborted", () => reject(new Error(`${options.method ?? "GET"} ${path}: the answer was cut short`)));
        incoming.on("end", () => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(incoming.headers))
            if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
          const body = Buffer.concat(chunks);
          resolve({ status: incoming.statusCode ?? 0, headers, body, text: body.toString("utf8") });
        });
      },
    );
    outgoing.on("timeout", () =>
      outgoing.destroy(new Error(`${options.method ?? "GET"} ${path}: no answer within 60 s`)),
    );
    outgoing.on("error", reject);
    outgoing.end();
  });
}

/**
 * Headers that describe the connection or the moment of the answer (how long a cache has held the copy, whether this
 * request hit it), not the resource: they may differ between two requests for the same thing.
 */
const MOMENT_HEADERS = [
  "date",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "age",
  "x-cache",
  "x-cache-hits",
  "x-served-by",
  "x-timer",
];

/** The headers an answer carries that describe the resource, not the connection or the moment. */
export function resourceHeaders(answer: Answer): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(answer.headers)) {
    if (MOMENT_HEADERS.includes(name)) continue;
    out[name] = value;
  }
  return out;
}

/** Closes idle keep-alive sockets (afterAll). */
export function closeClient(): void {
  agent.destroy();
}
