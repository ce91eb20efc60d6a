/**
 * A local Fastly Compute host for Node 20: serves HTTP with a Compute wasm (js-compute's core module), as
 * `fastly compute serve` (Viceroy) would. The main thread owns the server, the backends, the stores and the shared
 * HTTP cache; a small pool of worker threads runs the guest — a fresh instance for every request — and calls back
 * synchronously for anything asynchronous (host-rpc.ts).
 *
 *   const host = await startComputeHost({ wasmPath: "bin/main.wasm", listen: "127.0.0.1:0",
 *     backends: { crates_io_index: { url: "http://127.0.0.1:1234" } }, httpCache: "memory" });
 *   await fetch(`${host.url}7d/config.json`);
 *   await host.close();
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { MessageChannel, Worker } from "node:worker_threads";
import { BackendClient, type BackendTarget, decompressGzip } from "./backend-client.ts";
import { CoreCache } from "./core-cache.ts";
import type {
  DownstreamRequest,
  HeaderList,
  HostMethods,
  HttpCacheMode,
  KvValue,
  MainToWorker,
  NextJob,
  PendingOutcome,
  RequestTiming,
  SelectWait,
  WorkerToMain,
} from "./host-protocol.ts";
import { HostRpcServer } from "./host-rpc.ts";
import { suggestedCacheOptions } from "./http-freshness.ts";
import { MemoryHttpCache } from "./memory-http-cache.ts";

export type { BackendTarget } from "./backend-client.ts";
export type { HttpCacheMode, RequestTiming } from "./host-protocol.ts";

/** A KV value: text, or text with metadata (as `[local_server.kv_stores]` JSON files allow). */
export type KvEntry = string | { readonly data: string; readonly metadata?: string };

export interface ComputeHostOptions {
  readonly wasmPath: string;
  /** "HOST:PORT", default "127.0.0.1:7676"; port 0 takes a free port. */
  readonly listen?: string;
  readonly backends: Readonly<Record<string, BackendTarget>>;
  readonly kvStores?: Readonly<Record<string, Readonly<Record<string, KvEntry>>>>;
  readonly configStores?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** "unsupported": every fastly_http_cache call answers as Viceroy does; "memory": a real shared cache. */
  readonly httpCache: HttpCacheMode;
  /** Instances running at once (default 2); further requests queue. */
  readonly workers?: number;
  /** Milliseconds since the epoch the guest sees (its realtime clock) and the cache ages by; default Date.now. */
  readonly clock?: () => number;
  /** Guest stdout/stderr lines and host errors; default process.stderr. */
  readonly log?: (line: string) => void;
  /**
   * Named log endpoints (`fastly:logger`) → the file each one's entries are appended to, one per line. An endpoint not
   * named here still takes entries, as in Viceroy, and they go to `log` as `NAME :: entry`.
   */
  readonly logEndpoints?: Readonly<Record<string, string>>;
  readonly onTiming?: (timing: RequestTiming) => void;
  /** Log every hostcall with its arguments and status (debugging). */
  readonly trace?: boolean;
}

export interface RunningComputeHost {
  /** "http://127.0.0.1:PORT/" */
  readonly url: string;
  setKvEntry(store: string, key: string, value: string): void;
  deleteKvEntry(store: string, key: string): void;
  replaceKvStore(store: string, entries: Record<string, string>): void;
  setConfigEntry(store: string, key: string, value: string): void;
  /** Empties the memory-mode HTTP cache (and host-caching entries). */
  clearHttpCache(): void;
  /** Empties the Core Cache (`fastly:cache`); transactions in flight keep their obligations. */
  clearCoreCache(): void;
  /**
   * Purges Core Cache objects carrying this surrogate key, as Fastly's purge API (and the guest's
   * `fastly_purge.purge_surrogate_key`) does: `soft` marks them stale instead. Answers how many variants it hit.
   */
  purgeSurrogateKey(surrogateKey: string, options?: { soft?: boolean }): number;
  /**
   * Resolves once no instance is running: every request has ended, including work after its answer (`waitUntil`).
   * Tests that move the clock between requests wait for it, as time never jumps while an instance still runs.
   */
  settled(): Promise<void>;
  /** Stops the server (in-flight requests get a few seconds) and the workers; idempotent. */
  close(): Promise<void>;
}

/** How long close() lets requests in flight finish before cutting them. */
const CLOSE_GRACE_MS = 3000;
const TIMED_OUT = 0xffff_ffff;

interface Job {
  readonly requestId: number;
  readonly downstream: DownstreamRequest;
  readonly response: ServerResponse;
  readonly method: string;
  responded: boolean;
  streaming: boolean;
  finished: () => void;
}

interface Slot {
  worker: Worker;
  rpc: HostRpcServer;
  job: Job | null;
  /** Whether the worker runs an instance: when not, it can start a fresh one. */
  running: boolean;
  /** Set while its instance, a reusable sandbox, waits for its next request: hands it one, or null to end the wait. */
  next: ((job: NextJob | null) => void) | null;
}

/** The main thread's implementations of the host methods named. */
type HostMethodImpls<Name extends keyof HostMethods> = {
  [M in Name]: (arg: HostMethods[M]["arg"]) => Promise<HostMethods[M]["result"]> | HostMethods[M]["result"];
};

interface Pending {
  readonly requestId: number;
  readonly promise: Promise<PendingOutcome>;
  outcome: PendingOutcome | undefined;
}

export async function startComputeHost(options: ComputeHostOptions): Promise<RunningComputeHost> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const clock = options.clock ?? Date.now;
  const module = await WebAssembly.compile(await readFile(options.wasmPath));
  // Opened now, so a path that cannot be written fails the start, not the first entry.
  const logFiles = new Map<string, number>();
  try {
    for (const [name, path] of Object.entries(options.logEndpoints ?? {})) logFiles.set(name, openSync(path, "a"));
  } catch (error) {
    for (const file of logFiles.values()) closeSync(file);
    throw error;
  }
  const kvStores = new Map(Object.entries(options.kvStores ?? {}).map(([name, entries]) => [name, toKvMap(entries)]));
  const configStores = new Map(
    Object.entries(options.configStores ?? {}).map(([name, entries]) => [name, new Map(Object.entries(entries))]),
  );
  const cache = new MemoryHttpCache(clock);
  const coreCache = new CoreCache(clock);
  const client = new BackendClient();
  const pending = new Map<number, Pending>();
  let nextPendingId = 1;
  let nextRequestId = 1;
  const queue: Job[] = [];
  const slots: Slot[] = [];
  let closing: Promise<void> | undefined;

  function sendToBackend(arg: HostMethods["backend.send"]["arg"]): Promise<PendingOutcome> {
    const target = options.backends[arg.backend];
    if (target === undefined) throw new Error(`unknown backend ${arg.backend}`);
    const hostCache =
      options.httpCache === "memory" &&
      arg.hostCaching &&
      (arg.method === "GET" || arg.method === "HEAD") &&
      arg.cacheOverride?.pass !== true;
    const key = `${arg.headers.find(([name]) => name === "host")?.[1] ?? ""} ${arg.uri}`;
    return (async (): Promise<PendingOutcome> => {
      const cached = hostCache ? cache.fresh(key) : null;
      let outcome: PendingOutcome = cached
        ? {
            ok: true,
            response: {
              status: cached.head.status,
              headers: cached.head.headers,
              body: cached.body,
              bodyFailure: null,
              knownLength: cached.body.length,
            },
          }
        : await client.send(target, arg);
      if (hostCache && cached === null && outcome.ok && outcome.response.bodyFailure === null)
        storeHostCached(key, outcome.response, arg.cacheOverride);
      if (outcome.ok && arg.autoDecompressGzip) outcome = { ok: true, response: decompressGzip(outcome.response) };
      return outcome;
    })();
  }

  /** Production's host caching: the CacheOverride's TTL/SWR, else the response's own freshness. */
  function storeHostCached(
    key: string,
    response: { status: number; headers: HeaderList; body: Uint8Array },
    override: HostMethods["backend.send"]["arg"]["cacheOverride"],
  ): void {
    const suggested = suggestedCacheOptions(response.headers);
    const cacheControl = response.headers.find(([name]) => name === "cache-control")?.[1] ?? "";
    if (override === null && /no-store|private/i.test(cacheControl)) return;
    if (![200, 203, 300, 301, 302, 404, 410].includes(response.status)) return;
    const options = {
      ...suggested,
      maxAgeNs: override?.ttlSeconds != null ? override.ttlSeconds * 1e9 : suggested.maxAgeNs,
      swrNs: override?.swrSeconds != null ? override.swrSeconds * 1e9 : suggested.swrNs,
      initialAgeNs: override?.ttlSeconds != null ? 0 : suggested.initialAgeNs,
    };
    if (options.maxAgeNs > options.initialAgeNs)
      cache.store(key, { status: response.status, headers: response.headers }, options, response.body);
  }

  /** A promise of the wait's end, or null when it is over. */
  function waitOf(wait: SelectWait): Promise<unknown> | null {
    if ("pendingId" in wait) {
      const record = pending.get(wait.pendingId);
      if (record === undefined) return new Promise<never>(() => {});
      return record.outcome !== undefined ? null : record.promise;
    }
    if ("streamId" in wait) return coreCache.readReady(wait.streamId, wait.offset, wait.end);
    return coreCache.lookupPromise(wait.waitId);
  }

  async function select(items: Array<SelectWait | null>, timeoutMs: number): Promise<number> {
    for (;;) {
      const waits = items.map((item) => (item === null ? null : waitOf(item)));
      const readyNow = waits.indexOf(null);
      if (readyNow !== -1) return readyNow;
      const racers: Array<Promise<unknown>> = waits.map((wait) => wait!.catch(() => {}));
      let timer: NodeJS.Timeout | undefined;
      let timedOut = false;
      if (timeoutMs > 0)
        racers.push(
          new Promise<void>(
            (resolve) =>
              (timer = setTimeout(() => {
                timedOut = true;
                resolve();
              }, timeoutMs)),
          ),
        );
      await Promise.race(racers);
      clearTimeout(timer);
      if (timedOut) return TIMED_OUT;
      // A stream's change may not be the bytes this reader waits for: look again.
    }
  }

  // Every method but "downstream.next", which answers the worker that asks (each slot's own, in startSlot).
  const hostMethods: HostMethodImpls<Exclude<keyof HostMethods, "downstream.next">> = {
    "backend.send": (arg) => {
      const pendingId = nextPendingId++;
      const record: Pending = { requestId: arg.requestId, promise: sendToBackend(arg), outcome: undefined };
      record.promise.then((outcome) => (record.outcome = outcome)).catch(() => {});
      pending.set(pendingId, record);
      return { pendingId };
    },
    "pending.wait": async ({ pendingId }) => {
      const record = pending.get(pendingId);
      if (record === undefined) throw new Error(`unknown pending request ${pendingId}`);
      pending.delete(pendingId);
      return await record.promise;
    },
    "pending.isDone": ({ pendingId }) => pending.get(pendingId)?.outcome !== undefined,
    select: ({ items, timeoutMs }) => select(items, timeoutMs),
    ready: (wait) => waitOf(wait) === null,
    "kv.exists": ({ store }) => kvStores.has(store),
    "kv.get": ({ store, key }) => kvStores.get(store)?.get(key) ?? null,
    "cache.lookup": ({ requestId, key, requestHeaders }) => cache.lookup(requestId, key, requestHeaders),
    "cache.insert": ({ txnId, head, options: writeOptions, body }) => {
      cache.insert(txnId, head, writeOptions, body);
      return null;
    },
    "cache.update": ({ txnId, head, options: writeOptions }) => cache.update(txnId, head, writeOptions),
    "cache.recordNotCacheable": ({ txnId, maxAgeNs }) => {
      cache.recordNotCacheable(txnId, maxAgeNs);
      return null;
    },
    "cache.release": ({ txnId }) => {
      cache.release(txnId);
      return null;
    },
    "core.lookup": ({ requestId, key, headers }) => coreCache.lookup(requestId, key, headers),
    "core.transactionLookup": ({ requestId, key, headers }) =>
      coreCache.transactionLookup(requestId, key, headers, true),
    "core.transactionLookupAsync": ({ requestId, key, headers }) =>
      coreCache.transactionLookupAsync(requestId, key, headers),
    "core.awaitLookup": ({ waitId }) => coreCache.awaitLookup(waitId),
    "core.dropLookup": ({ waitId }) => {
      coreCache.dropLookup(waitId);
      return null;
    },
    "core.insert": ({ requestId, key, headers, options: writeOptions }) =>
      coreCache.insert(requestId, key, headers, writeOptions),
    "core.transactionInsert": ({ requestId, obligation, options: writeOptions }) =>
      coreCache.transactionInsert(requestId, obligation, writeOptions),
    "core.transactionUpdate": ({ obligation, options: writeOptions }) =>
      coreCache.transactionUpdate(obligation, writeOptions),
    "core.release": ({ obligation }) => {
      coreCache.releaseObligation(obligation);
      return null;
    },
    "core.write": ({ streamId, data }) => {
      coreCache.write(streamId, data);
      return null;
    },
    "core.finish": ({ streamId, failed }) => {
      coreCache.finish(streamId, failed);
      return null;
    },
    "core.bodyRange": async ({ streamId, from, to, length, alwaysUseRequestedRange }) => {
      const range = await coreCache.bodyRange(streamId, from, to, length, alwaysUseRequestedRange);
      return { ...range, finished: coreCache.readFinished(streamId, range.start, range.end) };
    },
    "core.read": ({ streamId, offset, end }) => coreCache.read(streamId, offset, end),
    "core.purge": ({ surrogateKey, soft }) => coreCache.purge(surrogateKey, soft),
  };

  async function startSlot(): Promise<Slot> {
    const worker = new Worker(new URL("./guest-worker-entry.mjs", import.meta.url), {
      workerData: { entry: new URL("./guest-worker.ts", import.meta.url).href },
    });
    const requests = new MessageChannel();
    const replies = new MessageChannel();
    const signal = new SharedArrayBuffer(4);
    const methods: HostMethodImpls<keyof HostMethods> = {
      ...hostMethods,
      "downstream.next": (arg) => nextRequestFor(slot, arg),
    };
    const rpc = new HostRpcServer(
      requests.port2,
      replies.port1,
      signal,
      (method, arg) => methods[method](arg as never) as never,
    );
    const slot: Slot = { worker, rpc, job: null, running: false, next: null };
    const ready = new Promise<void>((resolve, reject) => {
      worker.once("error", reject);
      worker.on("message", (message: WorkerToMain) => {
        if (message.type === "ready") resolve();
        else onWorkerMessage(slot, message);
      });
    });
    const init: MainToWorker = {
      type: "init",
      module,
      backendNames: Object.keys(options.backends),
      httpCache: options.httpCache,
      rpcPort: requests.port1,
      replyPort: replies.port2,
      signal,
      trace: options.trace ?? false,
    };
    worker.postMessage(init, [requests.port1, replies.port2]);
    await ready;
    worker.on("error", (error) => onWorkerCrash(slot, error));
    return slot;
  }

  function onWorkerCrash(slot: Slot, error: Error): void {
    log(`compute-host: a guest worker failed: ${error.message}`);
    const job = slot.job;
    if (job !== null) finishJob(slot, job, `the guest worker failed: ${error.message}`);
    const index = slots.indexOf(slot);
    if (closing === undefined && index !== -1) {
      void startSlot().then((replacement) => {
        slots[index] = replacement;
        dispatch();
      });
    }
  }

  function onWorkerMessage(slot: Slot, message: WorkerToMain): void {
    const job = slot.job;
    switch (message.type) {
      case "log":
        log(message.line);
        return;
      case "log-entry": {
        const file = logFiles.get(message.endpoint);
        if (file === undefined) log(`${message.endpoint} :: ${Buffer.from(message.entry).toString("utf8")}`);
        else writeSync(file, Buffer.concat([message.entry, Buffer.from("\n")]));
        return;
      }
      case "response": {
        if (job === null || job.requestId !== message.requestId) return;
        job.responded = true;
        job.streaming = message.streaming;
        writeResponseHead(
          job,
          message.status,
          message.headers,
          message.streaming || message.broken ? null : message.body.length,
        );
        if (job.method === "HEAD") {
          job.response.end();
        } else if (message.broken) {
          job.response.write(message.body);
          job.response.destroy();
        } else if (message.streaming) {
          job.response.write(message.body);
        } else {
          job.response.end(message.body);
        }
        return;
      }
      case "chunk":
        if (job?.requestId === message.requestId && job.method !== "HEAD") job.response.write(message.data);
        return;
      case "end":
        if (job?.requestId !== message.requestId) return;
        job.streaming = false;
        if (message.broken) job.response.destroy();
        else job.response.end();
        return;
      case "done":
        if (job === null || job.requestId !== message.requestId) return;
        options.onTiming?.(message.timing);
        finishJob(slot, job, message.failure);
        return;
      case "exited":
        slot.running = false;
        dispatch();
        return;
      case "ready":
        return;
    }
  }

  function writeResponseHead(job: Job, status: number, headers: HeaderList, contentLength: number | null): void {
    const raw: string[] = [];
    for (const [name, value] of headers) {
      if (name === "transfer-encoding" || name === "connection") continue;
      if (name === "content-length" && !(job.method === "HEAD" && contentLength === 0)) continue;
      raw.push(name, value);
    }
    if (contentLength !== null && !(job.method === "HEAD" && contentLength === 0))
      raw.push("content-length", String(contentLength));
    job.response.writeHead(status, raw);
  }

  function finishJob(slot: Slot, job: Job, failure: string | null): void {
    if (failure !== null) {
      log(`compute-host: ${job.downstream.method} ${job.downstream.url}: ${failure}`);
      if (!job.responded && !job.response.headersSent) {
        const text = `${failure}\n`;
        job.response.writeHead(500, {
          "content-type": "text/plain; charset=utf-8",
          "content-length": Buffer.byteLength(text),
        });
        job.response.end(job.method === "HEAD" ? undefined : text);
      }
    }
    if (job.streaming || !job.response.writableEnded) job.response.destroy();
    cache.releaseOwner(job.requestId);
    coreCache.releaseOwner(job.requestId);
    for (const [id, record] of pending) if (record.requestId === job.requestId) pending.delete(id);
    slot.job = null;
    job.finished();
    dispatch();
  }

  /**
   * Hands queued requests to workers: first to reusable sandboxes waiting for their next request (as Viceroy does),
   * then to workers without an instance, which start a fresh one.
   */
  function dispatch(): void {
    for (const waiting of [true, false]) {
      for (const slot of slots) {
        if (slot.job !== null || (waiting ? slot.next === null : slot.running)) continue;
        const job = queue.shift();
        if (job === undefined) return;
        slot.job = job;
        const next: NextJob = {
          requestId: job.requestId,
          downstream: job.downstream,
          clockOffsetMs: clock() - Date.now(),
          configStores,
        };
        if (waiting) {
          const hand = slot.next!;
          slot.next = null;
          hand(next);
        } else {
          slot.running = true;
          slot.worker.postMessage({ type: "run", ...next } satisfies MainToWorker);
        }
      }
    }
  }

  /** A reusable sandbox asks for its next request: the next queued one, or null once `timeoutMs` has passed. */
  function nextRequestFor(slot: Slot, { timeoutMs }: { timeoutMs: number }): Promise<NextJob | null> {
    return new Promise((resolve) => {
      // Without a request in time, the instance ends; the worker says so ("exited").
      const timer = setTimeout(() => {
        if (slot.next !== wake) return;
        slot.next = null;
        resolve(null);
      }, timeoutMs);
      const wake = (job: NextJob | null) => {
        clearTimeout(timer);
        resolve(job);
      };
      slot.next = wake;
      // Its last request may still be finishing here (its "done" travels on another port): dispatch skips the slot
      // until then.
      dispatch();
    });
  }

  const [listenHost, listenPort] = parseListen(options.listen ?? "127.0.0.1:7676");
  const inFlight = new Set<Promise<void>>();
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    if (closing !== undefined) {
      response.writeHead(503, { "content-type": "text/plain", connection: "close" }).end("shutting down\n");
      return;
    }
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const headers: HeaderList = [];
      for (let i = 0; i < request.rawHeaders.length; i += 2)
        headers.push([request.rawHeaders[i]!.toLowerCase(), request.rawHeaders[i + 1]!]);
      const address = server.address() as AddressInfo;
      let finished!: () => void;
      const done = new Promise<void>((resolve) => (finished = resolve));
      inFlight.add(done);
      void done.then(() => inFlight.delete(done));
      queue.push({
        requestId: nextRequestId++,
        method: request.method ?? "GET",
        downstream: {
          method: request.method ?? "GET",
          url: `http://${request.headers.host ?? `${address.address}:${address.port}`}${request.url ?? "/"}`,
          headers,
          body: Buffer.concat(chunks),
          clientAddress: request.socket.remoteAddress ?? "127.0.0.1",
        },
        response,
        responded: false,
        streaming: false,
        finished,
      });
      dispatch();
    });
  });

  try {
    const count = Math.max(1, options.workers ?? 2);
    slots.push(...(await Promise.all(Array.from({ length: count }, () => startSlot()))));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(listenPort, listenHost, () => resolve());
    });
  } catch (error) {
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
    for (const file of logFiles.values()) closeSync(file);
    throw error;
  }
  const address = server.address() as AddressInfo;
  const hostForUrl = address.family === "IPv6" ? `[${address.address}]` : address.address;

  const store = (name: string) => {
    let entries = kvStores.get(name);
    if (entries === undefined) kvStores.set(name, (entries = new Map()));
    return entries;
  };

  return {
    url: `http://${hostForUrl}:${address.port}/`,
    setKvEntry: (name, key, value) => void store(name).set(key, { body: Buffer.from(value), metadata: "" }),
    deleteKvEntry: (name, key) => void store(name).delete(key),
    replaceKvStore: (name, entries) => void kvStores.set(name, toKvMap(entries)),
    setConfigEntry: (name, key, value) => {
      let entries = configStores.get(name);
      if (entries === undefined) configStores.set(name, (entries = new Map()));
      entries.set(key, value);
    },
    clearHttpCache: () => cache.clear(),
    clearCoreCache: () => coreCache.clear(),
    purgeSurrogateKey: (surrogateKey, purgeOptions) => coreCache.purge(surrogateKey, purgeOptions?.soft ?? false),
    settled: async () => {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
    close: () =>
      (closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        for (const job of queue.splice(0)) {
          job.response.writeHead(503, { "content-type": "text/plain" }).end("shutting down\n");
          job.finished();
        }
        let grace: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.all([...inFlight]),
          new Promise((resolve) => (grace = setTimeout(resolve, CLOSE_GRACE_MS))),
        ]);
        clearTimeout(grace);
        server.closeAllConnections();
        for (const slot of slots) {
          slot.next?.(null);
          slot.next = null;
          slot.rpc.close();
        }
        await Promise.all(slots.map((slot) => slot.worker.terminate()));
        client.close();
        for (const file of logFiles.values()) closeSync(file);
        await stopped;
      })()),
  };
}

function toKvMap(entries: Readonly<Record<string, KvEntry>>): Map<string, KvValue> {
  return new Map(
    Object.entries(entries).map(([key, entry]) => [
      key,
      typeof entry === "string"
        ? { body: Buffer.from(entry), metadata: "" }
        : { body: Buffer.from(entry.data), metadata: entry.metadata ?? "" },
    ]),
  );
}

export function parseListen(listen: string): [string, number] {
  const colon = listen.lastIndexOf(":");
  const host = listen.slice(0, colon).replace(/^\[|\]$/g, "");
  const port = Number(listen.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`listen address must be HOST:PORT, got ${JSON.stringify(listen)}`);
  return [host, port];
}
