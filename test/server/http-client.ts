import { Agent, request } from "undici";

export interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  /** The body exactly as sent: no decompression. */
  readonly body: Buffer;
}

/** A client that sends only the headers it is given (no default Accept-Encoding, no decompression). */
export const testClient = new Agent({ keepAliveTimeout: 1_000 });

export async function send(
  url: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<RawAnswer> {
  const answer = await request(url, {
    method: options.method ?? "GET",
    headers: options.headers ?? {},
    dispatcher: testClient,
  });
  const body = Buffer.from(await answer.body.arrayBuffer());
  return { status: answer.statusCode, headers: answer.headers, body };
}

export function header(answer: RawAnswer, name: string): string | undefined {
  const value = answer.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}
