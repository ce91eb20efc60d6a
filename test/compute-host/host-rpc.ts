/**
 * Synchronous calls from the guest worker to the main thread. A hostcall such as `pending_req_wait_v2` must return
 * its answer before the wasm continues, but the answer (a backend response) arrives on the main thread's event loop.
 * The worker posts the call, blocks in `Atomics.wait` on a shared flag, and the main thread — after doing the async
 * work — posts the reply on a second port and flips the flag; the worker then takes the reply with
 * `receiveMessageOnPort` (no event loop needed on the worker side).
 */
import { type MessagePort, receiveMessageOnPort } from "node:worker_threads";
import type { HostMethodName, HostMethods, RpcReply, RpcRequest } from "./host-protocol.ts";

const WAITING = 0;
const ANSWERED = 1;

export class HostRpcClient {
  /** Milliseconds blocked waiting for the main thread since the last `takeWaitedMs`. */
  private waitedMs = 0;
  private readonly flag: Int32Array;

  constructor(
    private readonly requestPort: MessagePort,
    private readonly replyPort: MessagePort,
    signal: SharedArrayBuffer,
  ) {
    this.flag = new Int32Array(signal);
  }

  call<M extends HostMethodName>(method: M, arg: HostMethods[M]["arg"]): HostMethods[M]["result"] {
    Atomics.store(this.flag, 0, WAITING);
    const started = performance.now();
    this.requestPort.postMessage({ method, arg } satisfies RpcRequest);
    Atomics.wait(this.flag, 0, WAITING);
    let reply = receiveMessageOnPort(this.replyPort);
    // The flag can be seen before the message is visible on the port; it follows within microseconds.
    while (reply === undefined) {
      Atomics.wait(this.flag, 0, WAITING, 1);
      reply = receiveMessageOnPort(this.replyPort);
    }
    this.waitedMs += performance.now() - started;
    const answer = reply.message as RpcReply;
    if ("error" in answer) throw new Error(`compute-host: ${method} failed in the host: ${answer.error}`);
    return answer.result as HostMethods[M]["result"];
  }

  takeWaitedMs(): number {
    const waited = this.waitedMs;
    this.waitedMs = 0;
    return waited;
  }
}

export type HostMethodHandler = <M extends HostMethodName>(
  method: M,
  arg: HostMethods[M]["arg"],
) => Promise<HostMethods[M]["result"]> | HostMethods[M]["result"];

/** The main thread's side: answers each call (in any order it completes) and wakes the worker. */
export class HostRpcServer {
  private readonly flag: Int32Array;
  private closed = false;

  constructor(
    private readonly requestPort: MessagePort,
    private readonly replyPort: MessagePort,
    signal: SharedArrayBuffer,
    handler: HostMethodHandler,
  ) {
    this.flag = new Int32Array(signal);
    requestPort.on("message", (request: RpcRequest) => {
      void (async () => {
        let reply: RpcReply;
        try {
          reply = { result: await handler(request.method, request.arg as never) };
        } catch (error) {
          reply = { error: error instanceof Error ? error.message : String(error) };
        }
        this.answer(reply);
      })();
    });
  }

  private answer(reply: RpcReply): void {
    if (this.closed) return;
    this.replyPort.postMessage(reply);
    Atomics.store(this.flag, 0, ANSWERED);
    Atomics.notify(this.flag, 0);
  }

  /** Wakes a worker blocked in a call with an error, so it can be terminated. */
  close(): void {
    this.answer({ error: "the host is shutting down" });
    this.closed = true;
    this.requestPort.close();
    this.replyPort.close();
  }
}
