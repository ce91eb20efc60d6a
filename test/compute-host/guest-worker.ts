/**
 * A guest worker thread: compiles nothing (the module arrives compiled), and for each request creates a fresh
 * instance — as Compute does, one request per instance unless the program asks for a reusable sandbox, whose instance
 * then takes further requests through next_request_wait — wires the hostcalls, runs `_start`, and reports timings.
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
import { computeRuntimeHostcalls } from "./hostcalls-compute-runtime.ts";
import { coreCacheHostcalls, purgeHostcalls } from "./hostcalls-core-cache.ts";
import { httpBodyHostcalls } from "./hostcalls-http-body.ts";
import { httpCacheHostcalls } from "./hostcalls-http-cache.ts";
import { httpDownstreamHostcalls, type RequestSeam } from "./hostcalls-http-downstream.ts";
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
    downstreamHandles: downstreamHandlesOf(resources, job.downstream),
    responseSent: false,
    streamingOpen: false,
    post,
  };
  // Whether the instance serves a request now (the context's; not between two, nor after the last), which of the
  // instance's requests it is, and when the instance took it.
  let serving = true;
  let instanceRequest = 1;
  let instantiateMs = 0;
  let tookCpu: number | null = null;
  let tookWall = 0;
  const take = () => {
    rpc.takeWaitedMs();
    tookCpu = threadCpuNs();
    tookWall = performance.now();
  };
  /** Reports the request being served as done; `failure` when it failed. */
  const finish = (failure: string | null) => {
    if (!serving) return;
    serving = false;
    const cpuNow = threadCpuNs();
    if (ctx.streamingOpen) {
      // Viceroy: a streaming body never closed is an unfinished body; the client sees it cut off.
      post({ type: "end", requestId: ctx.requestId, broken: true });
      ctx.streamingOpen = false;
    }
    if (failure === null && !ctx.responseSent) failure = "the guest ended without sending a response";
    post({
      type: "done",
      requestId: ctx.requestId,
      failure,
      timing: {
        path: pathOf(ctx.downstream.url),
        instantiateMs: instanceRequest === 1 ? instantiateMs : 0,
        instanceRequest,
        startWallMs: performance.now() - tookWall,
        startCpuMs: tookCpu === null || cpuNow === null ? null : (cpuNow - tookCpu) / 1e6,
        hostWaitMs: rpc.takeWaitedMs(),
      },
    });
  };
  const seam: RequestSeam = {
    finish: () => {
      wasi.flush();
      finish(null);
    },
    next: (timeoutMs) => rpc.call("downstream.next", { timeoutMs }),
    begin: (next) => {
      ctx.requestId = next.requestId;
      ctx.clockOffsetMs = next.clockOffsetMs;
      ctx.configStores = next.configStores;
      ctx.downstream = next.downstream;
      ctx.downstreamHandles = downstreamHandlesOf(resources, next.downstream);
      ctx.responseSent = false;
      serving = true;
      instanceRequest++;
      take();
    },
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
      fastly_http_downstream: httpDownstreamHostcalls(ctx, seam),
      fastly_async_io: asyncIoHostcalls(ctx),
      fastly_kv_store: kvStoreHostcalls(ctx),
      fastly_config_store: config,
      fastly_dictionary: config,
      fastly_http_cache: httpCacheHostcalls(ctx),
      fastly_cache: coreCacheHostcalls(ctx),
      fastly_purge: purgeHostcalls(ctx),
      fastly_log: logHostcalls(ctx),
      fastly_compute_runtime: computeRuntimeHostcalls(ctx),
    },
    init.trace ? (line) => log(`[trace] ${line}`) : null,
  );

  let failure: string | null = null;
  try {
    const instantiateStart = performance.now();
    const instance = new WebAssembly.Instance(init.module, imports);
    instantiateMs = performance.now() - instantiateStart;
    const { memory, _start } = instance.exports as { memory: WebAssembly.Memory; _start: () => void };
    ctx.mem.attach(memory);
    take();
    _start();
  } catch (error) {
    if (error instanceof ProcExit) {
      if (error.code !== 0) log(`compute-host: the guest exited with code ${error.code}`);
    } else {
      failure = oneLine(error);
    }
  }
  wasi.flush();
  // A failure while no request is served (between two) has no client to answer: it is only logged.
  if (failure !== null && !serving) log(`compute-host: the guest failed between requests: ${failure}`);
  finish(failure);
  post({ type: "exited" });
}

/** The downstream request and its body as new handles of the instance (body_downstream_get and next_request_wait). */
function downstreamHandlesOf(
  resources: ResourceTable,
  downstream: RunJob["downstream"],
): { request: number; body: number } {
  return {
    request: resources.add({
      kind: "request",
      method: downstream.method,
      uri: downstream.url,
      headers: new Headers(downstream.headers),
      version: 2,
      autoDecompressGzip: false,
      cacheOverride: null,
    }),
    body: resources.add({ kind: "body", body: new Body(downstream.body) }),
  };
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
