/**
 * A guest worker thread: compiles nothing (the module arrives compiled), and for each request creates a fresh
 * instance — as Compute does, one request per instance — wires the hostcalls, runs `_start`, and reports timings.
 * It blocks while the guest runs; everything asynchronous happens in the main thread (host-rpc.ts).
 */
import { randomBytes } from "node:crypto";
import { parentPort } from "node:worker_threads";
import { Body } from "./guest-body.ts";
import type { GuestContext } from "./guest-context.ts";
import { GuestMemory } from "./guest-memory.ts";
import { Headers, ResourceTable } from "./guest-resources.ts";
import type { MainToWorker, RunJob, WorkerInit, WorkerToMain } from "./host-protocol.ts";
import { HostRpcClient } from "./host-rpc.ts";
import { asyncIoHostcalls } from "./hostcalls-async-io.ts";
import { coreCacheHostcalls, purgeHostcalls } from "./hostcalls-core-cache.ts";
import { httpBodyHostcalls } from "./hostcalls-http-body.ts";
import { httpCacheHostcalls } from "./hostcalls-http-cache.ts";
import { httpReqHostcalls } from "./hostcalls-http-req.ts";
import { httpRespHostcalls } from "./hostcalls-http-resp.ts";
import { logHostcalls } from "./hostcalls-log.ts";
import { configStoreHostcalls, kvStoreHostcalls } from "./hostcalls-stores.ts";
import { buildImportObject } from "./import-object.ts";
import { threadCpuClock } from "./thread-cpu-clock.ts";
import { ProcExit, wasiSubset } from "./wasi-subset.ts";

const port = parentPort;
if (port === null) throw new Error("guest-worker.ts runs only as a worker thread");
const post = (message: WorkerToMain, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer);

let setup: { init: WorkerInit; rpc: HostRpcClient; backendNames: Set<string> } | undefined;

port.on("message", (message: MainToWorker) => {
  if (message.type === "init") {
    setup = {
      init: message,
      rpc: new HostRpcClient(message.rpcPort, message.replyPort, message.signal),
      backendNames: new Set(message.backendNames),
    };
    post({ type: "ready" });
  } else {
    if (setup === undefined) throw new Error("compute-host: run before init");
    run(message, setup.init, setup.rpc, setup.backendNames);
  }
});

function run(job: RunJob, init: WorkerInit, rpc: HostRpcClient, backendNames: Set<string>): void {
  const log = (line: string) => post({ type: "log", line });
  const resources = new ResourceTable();
  const downstreamHandles = {
    request: resources.add({
      kind: "request",
      method: job.downstream.method,
      uri: job.downstream.url,
      headers: new Headers(job.downstream.headers),
      version: 2,
      autoDecompressGzip: false,
      cacheOverride: null,
    }),
    body: resources.add({ kind: "body", body: new Body(job.downstream.body) }),
  };
  const ctx: GuestContext = {
    mem: new GuestMemory(),
    rpc,
    resources,
    requestId: job.requestId,
    httpCache: init.httpCache,
    backendNames,
    clockOffsetMs: job.clockOffsetMs,
    configStores: job.configStores,
    downstream: job.downstream,
    downstreamHandles,
    responseSent: false,
    streamingOpen: false,
    post,
  };
  const wasi = wasiSubset(ctx, { traceId: randomBytes(16).toString("hex"), log });
  const config = configStoreHostcalls(ctx);
  const imports = buildImportObject(
    init.module,
    {
      wasi_snapshot_preview1: wasi.imports,
      fastly_http_req: httpReqHostcalls(ctx),
      fastly_http_resp: httpRespHostcalls(ctx),
      fastly_http_body: httpBodyHostcalls(ctx),
      fastly_async_io: asyncIoHostcalls(ctx),
      fastly_kv_store: kvStoreHostcalls(ctx),
      fastly_config_store: config,
      fastly_dictionary: config,
      fastly_http_cache: httpCacheHostcalls(ctx),
      fastly_cache: coreCacheHostcalls(ctx),
      fastly_purge: purgeHostcalls(ctx),
      fastly_log: logHostcalls(ctx),
    },
    init.trace ? (line) => log(`[trace] ${line}`) : null,
  );

  let failure: string | null = null;
  let instantiateMs = 0;
  let startWallMs = 0;
  let startCpuMs: number | null = null;
  rpc.takeWaitedMs();
  try {
    const instantiateStart = performance.now();
    const instance = new WebAssembly.Instance(init.module, imports);
    instantiateMs = performance.now() - instantiateStart;
    const { memory, _start } = instance.exports as { memory: WebAssembly.Memory; _start: () => void };
    ctx.mem.attach(memory);
    const cpuBefore = threadCpuNs();
    const wallBefore = performance.now();
    try {
      _start();
    } finally {
      startWallMs = performance.now() - wallBefore;
      const cpuAfter = threadCpuNs();
      startCpuMs = cpuBefore === null || cpuAfter === null ? null : (cpuAfter - cpuBefore) / 1e6;
    }
  } catch (error) {
    if (error instanceof ProcExit) {
      if (error.code !== 0) log(`compute-host: the guest exited with code ${error.code}`);
    } else {
      failure = oneLine(error);
    }
  }
  wasi.flush();
  if (ctx.streamingOpen) {
    // Viceroy: a streaming body never closed is an unfinished body; the client sees it cut off.
    post({ type: "end", requestId: job.requestId, broken: true });
  }
  if (failure === null && !ctx.responseSent) failure = "the guest ended without sending a response";
  post({
    type: "done",
    requestId: job.requestId,
    failure,
    timing: {
      path: pathOf(job.downstream.url),
      instantiateMs,
      startWallMs,
      startCpuMs,
      hostWaitMs: rpc.takeWaitedMs(),
    },
  });
}

const readThreadCpu = threadCpuClock();

/** Nanoseconds this thread has run on a CPU, or null where the platform cannot say. */
function threadCpuNs(): number | null {
  return readThreadCpu === null ? null : readThreadCpu();
}

function oneLine(error: unknown): string {
  const text =
    error instanceof Error ? `${error.name === "Error" ? "" : `${error.name}: `}${error.message}` : String(error);
  return text.split("\n")[0]!;
}

function pathOf(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.pathname + parsed.search;
  } catch {
    return url;
  }
}
