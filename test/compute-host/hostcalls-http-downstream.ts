/**
 * `fastly_http_downstream`'s reusable-sandbox calls (Viceroy `src/wiggle_abi/http_downstream.rs`, `src/sandbox.rs`):
 * an instance that has answered its request may ask for the next one instead of ending, as js-compute does when the
 * program called `setReusableSandboxOptions` at build time.
 */
import { HostcallError, Status } from "./fastly-status.ts";
import type { GuestContext, HostcallModule } from "./guest-context.ts";
import type { NextJob } from "./host-protocol.ts";

/** `next_request_options_mask`: bit 1 says the options carry `timeout_ms`. */
const TIMEOUT_GIVEN = 1 << 1;

/** Viceroy waits at most this long for a next request, whatever the guest asks (NEXT_REQ_TIMEOUT). */
export const NEXT_REQUEST_TIMEOUT_MS = 10_000;

/** What the worker does at the seam between two requests of one instance. */
export interface RequestSeam {
  /** The current request is over: report it (its response must have been sent). */
  finish(): void;
  /** Blocks until the host hands this instance another request, or answers null after `timeoutMs`. */
  next(timeoutMs: number): NextJob | null;
  /** The instance now serves `job`: the context's request fields and handles are its. */
  begin(job: NextJob): void;
}

export function httpDownstreamHostcalls(ctx: GuestContext, seam: RequestSeam): HostcallModule {
  let promised = false;
  return {
    next_request(optionsMask, optionsPtr, promiseOut) {
      // Viceroy keeps one pending next request per sandbox.
      if (promised) throw new HostcallError(Status.LIMITEXCEEDED, "a next request is already pending");
      const asked = (optionsMask & TIMEOUT_GIVEN) !== 0 ? ctx.mem.u32(optionsPtr) : NEXT_REQUEST_TIMEOUT_MS;
      promised = true;
      ctx.mem.setU32(
        promiseOut,
        ctx.resources.add({ kind: "next-request", timeoutMs: Math.min(asked, NEXT_REQUEST_TIMEOUT_MS) }),
      );
    },
    next_request_abandon(promise) {
      ctx.resources.take(promise, "next-request");
      promised = false;
    },
    next_request_wait(promise, requestOut, bodyOut) {
      if (!ctx.responseSent)
        throw new HostcallError(Status.UNSUPPORTED, "cannot accept requests w/o handling the outstanding one");
      const { timeoutMs } = ctx.resources.take(promise, "next-request");
      promised = false;
      seam.finish();
      const job = seam.next(timeoutMs);
      // Viceroy: no request within the timeout is ValueAbsent (NONE); js-compute then ends the instance.
      if (job === null) throw new HostcallError(Status.NONE, "no next request came");
      seam.begin(job);
      ctx.mem.setU32(requestOut, ctx.downstreamHandles.request);
      ctx.mem.setU32(bodyOut, ctx.downstreamHandles.body);
    },
  };
}
