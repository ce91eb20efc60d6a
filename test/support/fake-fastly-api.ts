import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** What the fake answers to the next batch request, in place of its normal behaviour. */
export type ScriptedAnswer =
  /** 429 with `Fastly-RateLimit-Reset` (Unix seconds), as Fastly's hourly limit does. */
  | { readonly kind: "rate-limit"; readonly resetAt: number }
  /** Any status with a body (e.g. 503), nothing stored. */
  | { readonly kind: "status"; readonly status: number; readonly body?: string }
  /** The connection is destroyed without an answer; `afterStoring` applies the batch first (the answer got lost). */
  | { readonly kind: "drop"; readonly afterStoring?: boolean };

/** Per-line failure for a key: reported as `{key, index, code, reason}` the next `times` times the key is sent. */
export interface LineFailure {
  readonly code: string;
  readonly reason?: string;
  readonly times: number;
}

/** One batch request as the fake saw it. */
export interface RecordedBatch {
  readonly storeId: string;
  /** Keys of the lines, in order. */
  readonly keys: readonly string[];
  readonly bodyBytes: number;
  readonly status: number | "dropped";
  /** Keys the fake stored from this request. */
  readonly stored: readonly string[];
}

/** One purge request as the fake saw it. */
export interface RecordedPurge {
  readonly serviceId: string;
  /** The `Surrogate-Key` header's keys, in order. */
  readonly keys: readonly string[];
  readonly status: number | "dropped";
}

export interface FakeFastlyApiOptions {
  readonly token?: string;
  /** The server closes itself after this long, so a forgotten one never keeps a test run alive. */
  readonly lifetimeMs?: number;
  /** Status of an answer that lists per-line errors; the real API's choice is not documented, so both are tested. */
  readonly lineErrorStatus?: 200 | 400;
}

export interface FakeFastlyApi {
  /** Base URL, e.g. `http://127.0.0.1:43125`, for `--api`. */
  readonly url: string;
  readonly token: string;
  /** The store's contents: key → decoded (UTF-8) value. */
  store(storeId: string): ReadonlyMap<string, string>;
  readonly batches: readonly RecordedBatch[];
  /** Queues answers for the next batch requests, one each, in order. */
  script(...answers: ScriptedAnswer[]): void;
  /** Makes the next `times` lines with this key fail with `code`. */
  failLine(key: string, failure: LineFailure): void;
  /** Called after each batch is applied, before it is answered (e.g. to kill the client mid-push). */
  onBatchApplied: ((batchNumber: number) => void) | null;
  readonly purges: readonly RecordedPurge[];
  /** Queues answers for the next purge requests, one each, in order. */
  scriptPurges(...answers: ScriptedAnswer[]): void;
  /** Called with each purge the fake accepts, before it answers (e.g. to purge a local Compute host's cache). */
  onPurge: ((serviceId: string, keys: readonly string[]) => void) | null;
  close(): Promise<void>;
}

const BATCH_PATH = /^\/resources\/stores\/kv\/([^/]+)\/batch$/;
const PURGE_PATH = /^\/service\/([^/]+)\/purge$/;
/** Fastly's batch purge takes at most this many keys. */
const MAX_PURGE_KEYS = 256;

/** The token the fake accepts unless told otherwise. */
export const FAKE_FASTLY_TOKEN = "fake-token-0123456789";

/** Not part of Fastly's API: `GET` here returns `batches` as JSON, for a fake running in another process. */
export const FAKE_BATCHES_PATH = "/_fake/batches";

/**
 * A stand-in for the Fastly API's KV batch endpoint (`PUT /resources/stores/kv/{store_id}/batch`) on 127.0.0.1: checks
 * `Fastly-Key` and `Content-Type: application/x-ndjson`, parses NDJSON, base64-decodes values strictly, stores them,
 * and answers `{"title":"success","errors":[]}` — or per-line errors `{key,index,code,reason}`, or what was scripted.
 * And for its batch purge (`POST /service/{service_id}/purge`, keys space-separated in `Surrogate-Key`, at most 256):
 * answers `{"<key>": "<purge id>", …}`, or what was scripted.
 */
export async function startFakeFastlyApi(options: FakeFastlyApiOptions = {}): Promise<FakeFastlyApi> {
  const token = options.token ?? FAKE_FASTLY_TOKEN;
  const stores = new Map<string, Map<string, string>>();
  const batches: RecordedBatch[] = [];
  const scripted: ScriptedAnswer[] = [];
  const purges: RecordedPurge[] = [];
  const scriptedPurges: ScriptedAnswer[] = [];
  let onPurge: ((serviceId: string, keys: readonly string[]) => void) | null = null;
  const lineFailures = new Map<string, { code: string; reason: string; left: number }>();
  let applied = 0;

  const storeFor = (id: string) => {
    let store = stores.get(id);
    if (store === undefined) stores.set(id, (store = new Map()));
    return store;
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => handle(req, res, Buffer.concat(chunks)));
  });

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  };

  function handle(req: IncomingMessage, res: ServerResponse, body: Buffer) {
    const pathname = new URL(req.url ?? "/", "http://x").pathname;
    if (pathname === FAKE_BATCHES_PATH && req.method === "GET") return json(res, 200, batches);
    const purge = PURGE_PATH.exec(pathname);
    if (purge !== null) return handlePurge(req, res, decodeURIComponent(purge[1] as string));
    const match = BATCH_PATH.exec(pathname);
    if (match === null) return json(res, 404, { msg: "Record not found" });
    if (req.method !== "PUT") return json(res, 405, { msg: "Method not allowed" });
    if (req.headers["fastly-key"] !== token)
      return json(res, 401, { msg: "Provided credentials are missing or invalid" });
    const storeId = decodeURIComponent(match[1] as string);
    const contentType = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
    if (contentType !== "application/x-ndjson") {
      return json(res, 415, { title: "Unsupported Media Type", detail: "expected Content-Type: application/x-ndjson" });
    }

    const lines = body.toString("utf8").split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    const keys: string[] = [];
    const parsed: ({ key: string; value: string } | { key: string | null; error: string })[] = lines.map((text) =>
      parseLine(text),
    );
    for (const line of parsed) keys.push(line.key ?? "");

    const answer = scripted.shift();
    const record = (status: number | "dropped", stored: string[]) =>
      batches.push({ storeId, keys, bodyBytes: body.length, status, stored });
    if (answerAsScripted(answer, req, res, (status) => record(status, []))) return;

    const errors: { key: string; index: number; code: string; reason: string }[] = [];
    const stored: string[] = [];
    const store = storeFor(storeId);
    for (const [index, line] of parsed.entries()) {
      if ("error" in line) {
        errors.push({ key: line.key ?? "", index, code: "400", reason: line.error });
        continue;
      }
      const failure = lineFailures.get(line.key);
      if (failure !== undefined && failure.left > 0) {
        failure.left--;
        errors.push({ key: line.key, index, code: failure.code, reason: failure.reason });
        continue;
      }
      store.set(line.key, line.value);
      stored.push(line.key);
    }
    applied++;
    onBatchApplied?.(applied);
    if (answer?.kind === "drop") {
      record("dropped", stored);
      return void req.socket.destroy();
    }
    const status = errors.length > 0 ? (options.lineErrorStatus ?? 400) : 200;
    record(status, stored);
    json(res, status, { title: errors.length > 0 ? "Bad Request" : "success", errors });
  }

  function handlePurge(req: IncomingMessage, res: ServerResponse, serviceId: string) {
    if (req.method !== "POST") return json(res, 405, { msg: "Method not allowed" });
    if (req.headers["fastly-key"] !== token)
      return json(res, 401, { msg: "Provided credentials are missing or invalid" });
    const keys = String(req.headers["surrogate-key"] ?? "")
      .split(" ")
      .filter((key) => key !== "");
    const record = (status: number | "dropped") => purges.push({ serviceId, keys, status });
    if (answerAsScripted(scriptedPurges.shift(), req, res, record)) return;
    if (keys.length === 0 || keys.length > MAX_PURGE_KEYS) {
      record(400);
      return json(res, 400, { msg: `expected 1 to ${MAX_PURGE_KEYS} surrogate keys, got ${keys.length}` });
    }
    onPurge?.(serviceId, keys);
    record(200);
    json(res, 200, Object.fromEntries(keys.map((key, i) => [key, `purge-${purges.length}-${i}`])));
  }

  /**
   * Answers as scripted — a 429 with its reset, a status, or the connection dropped before anything is applied — and
   * records it; false (nothing answered) for no script or a drop after applying.
   */
  function answerAsScripted(
    answer: ScriptedAnswer | undefined,
    req: IncomingMessage,
    res: ServerResponse,
    record: (status: number | "dropped") => void,
  ): boolean {
    if (answer?.kind === "rate-limit") {
      record(429);
      json(
        res,
        429,
        { msg: "You have exceeded your hourly rate limit." },
        { "fastly-ratelimit-remaining": "0", "fastly-ratelimit-reset": String(answer.resetAt) },
      );
      return true;
    }
    if (answer?.kind === "status") {
      record(answer.status);
      res.writeHead(answer.status, { "content-type": "text/plain" });
      res.end(answer.body ?? `scripted ${answer.status}`);
      return true;
    }
    if (answer?.kind === "drop" && !answer.afterStoring) {
      record("dropped");
      req.socket.destroy();
      return true;
    }
    return false;
  }

  let onBatchApplied: ((n: number) => void) | null = null;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | null = null;
  const close = () =>
    (closed ??= new Promise<void>((resolve) => {
      clearTimeout(lifetime);
      server.close(() => resolve());
      server.closeAllConnections();
    }));
  const lifetime = setTimeout(() => void close(), options.lifetimeMs ?? 120_000);
  lifetime.unref();

  return {
    url: `http://127.0.0.1:${port}`,
    token,
    store: (id) => storeFor(id),
    batches,
    script: (...answers) => void scripted.push(...answers),
    failLine: (key, failure) =>
      void lineFailures.set(key, {
        code: failure.code,
        reason: failure.reason ?? `scripted ${failure.code}`,
        left: failure.times,
      }),
    purges,
    scriptPurges: (...answers) => void scriptedPurges.push(...answers),
    get onPurge() {
      return onPurge;
    },
    set onPurge(hook) {
      onPurge = hook;
    },
    get onBatchApplied() {
      return onBatchApplied;
    },
    set onBatchApplied(hook) {
      onBatchApplied = hook;
    },
    close,
  };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** One NDJSON line: a JSON object with a string `key` and a strictly base64 `value` holding UTF-8. */
function parseLine(text: string): { key: string; value: string } | { key: string | null; error: string } {
  let item: unknown;
  try {
    item = JSON.parse(text);
  } catch {
    return { key: null, error: "line is not JSON" };
  }
  if (typeof item !== "object" || item === null || Array.isArray(item))
    return { key: null, error: "line is not a JSON object" };
  const { key, value } = item as { key?: unknown; value?: unknown };
  if (typeof key !== "string" || key === "") return { key: null, error: "missing key" };
  if (typeof value !== "string") return { key, error: "missing value" };
  const bytes = Buffer.from(value, "base64");
  if (!BASE64.test(value) || value.length % 4 !== 0 || bytes.toString("base64") !== value)
    return { key, error: "value is not base64" };
  try {
    return { key, value: utf8.decode(bytes) };
  } catch {
    return { key, error: "value is not UTF-8" };
  }
}
