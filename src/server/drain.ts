import type { IncomingMessage, RequestListener, Server, ServerResponse } from "node:http";
import { Server as NetServer, type Socket } from "node:net";
import { plainText } from "../core/responses.ts";

/** How long in-flight requests get once a stop is asked for. */
export const DEFAULT_DRAIN_MS = 5_000;

/**
 * A connection idle when the drain begins is closed once it has stayed idle this long: a client that had a request
 * on its way is still answered (with `Connection: close`), one that has nothing to ask is not waited for.
 */
const IDLE_GRACE_MS = 250;
/** After the drain time, how long the last answers (the 503s among them) get to be written before sockets are cut. */
const LAST_WRITE_MS = 500;
const SWEEP_EVERY_MS = 50;

/** The answer a request still waiting when the drain time is over gets, instead of a cut connection. */
export const RETRY_AFTER_STOP_SECONDS = "5";

/**
 * A drain that ends on time. Once `drain()` is called the server stops accepting connections; every answer from then
 * on carries `Connection: close`, so keep-alive clients leave after it instead of being cut mid-request; a connection
 * that stays idle is closed; a request still waiting (e.g. on upstream) when the drain time is over is answered 503
 * with `Retry-After` (through `orRetryLater`), and half a second later whatever is left is cut.
 */
export class ConnectionDrain {
  private readonly sockets = new Map<Socket, SocketState>();
  private readonly pending = new Set<ServerResponse>();
  private started: number | null = null;
  /** Handler calls still running, each with a way to answer it at once (the drain time is over). */
  private readonly waiting = new Set<() => void>();
  private timeIsUp = false;

  constructor(
    private readonly server: Server,
    private readonly drainMs: number = DEFAULT_DRAIN_MS,
  ) {
    server.on("connection", (socket: Socket) => {
      const state: SocketState = { inFlight: 0, idleSince: performance.now() };
      this.sockets.set(socket, state);
      socket.once("close", () => this.sockets.delete(socket));
    });
  }

  get draining(): boolean {
    return this.started !== null;
  }

  /** Tracks each request on its connection; during the drain, marks every answer `Connection: close`. */
  tracking(listener: RequestListener): RequestListener {
    return (request: IncomingMessage, response: ServerResponse) => {
      const state = this.sockets.get(request.socket);
      if (state !== undefined) state.inFlight++;
      this.pending.add(response);
      if (this.started !== null) response.setHeader("connection", "close");
      response.once("close", () => {
        this.pending.delete(response);
        if (state !== undefined) {
          state.inFlight--;
          state.idleSince = performance.now();
        }
      });
      listener(request, response);
    };
  }

  /** The handler's answer, or a 503 with `Retry-After` if it is still not there when the drain time is over. */
  orRetryLater(handler: (request: Request) => Promise<Response>): (request: Request) => Promise<Response> {
    // Not Promise.race with one shared "stopping" promise: every race would leave a reaction on it, holding each
    // answer (body included) until the server stops.
    return (request) => {
      if (this.timeIsUp) return Promise.resolve(retryLater());
      return new Promise((resolve, reject) => {
        const answerNow = () => resolve(retryLater());
        this.waiting.add(answerNow);
        handler(request).then(
          (response) => {
            this.waiting.delete(answerNow);
            resolve(response);
          },
          (error: unknown) => {
            this.waiting.delete(answerNow);
            reject(error);
          },
        );
      });
    };
  }

  /** Stops accepting, drains as described above; resolves once every connection is closed (at most drain time + ½ s). */
  async drain(): Promise<void> {
    if (this.started !== null) return;
    this.started = performance.now();
    // Not http.Server#close: since Node 19 it closes idle keep-alive connections at once, which resets a request
    // already on its way on one of them. Stop accepting only; idle connections get IDLE_GRACE_MS below.
    const closed = new Promise<void>((resolve) => NetServer.prototype.close.call(this.server, () => resolve()));
    for (const response of this.pending) if (!response.headersSent) response.setHeader("connection", "close");
    const sweep = setInterval(() => this.closeIdle(), SWEEP_EVERY_MS);
    const timeUp = setTimeout(() => this.giveUp(), this.drainMs);
    let cut: ReturnType<typeof setTimeout> | undefined;
    const cutAll = new Promise<void>((resolve) => {
      cut = setTimeout(() => {
        for (const socket of this.sockets.keys()) socket.destroy();
        resolve();
      }, this.drainMs + LAST_WRITE_MS);
    });
    this.closeIdle();
    await Promise.race([closed, cutAll]);
    clearInterval(sweep);
    clearTimeout(timeUp);
    clearTimeout(cut);
    this.giveUp();
    // Releases what http.Server#close releases (its connection-checking timer); the listener is already closed.
    this.server.close();
  }

  private giveUp(): void {
    this.timeIsUp = true;
    for (const answerNow of this.waiting) answerNow();
    this.waiting.clear();
  }

  private closeIdle(): void {
    const started = this.started ?? 0;
    const now = performance.now();
    for (const [socket, state] of this.sockets) {
      if (state.inFlight === 0 && now - Math.max(state.idleSince, started) >= IDLE_GRACE_MS) socket.destroy();
    }
  }
}

function retryLater(): Response {
  return plainText(503, "the server is stopping; try again", { "retry-after": RETRY_AFTER_STOP_SECONDS });
}

interface SocketState {
  inFlight: number;
  idleSince: number;
}
