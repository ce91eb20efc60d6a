/**
 * `fastly_async_io` (Viceroy `src/async_io.rs`), which js-compute's event loop runs on (fetch, setTimeout,
 * Promise.race). Bodies, KV lookups and cache handles are always ready here (the host holds them whole); pending
 * backend requests are ready once the main thread has their response or failure.
 */
import { HostcallError, Status } from "./fastly-status.ts";
import type { GuestContext, HostcallModule } from "./guest-context.ts";

/** What select answers when the timeout passes first. */
const TIMED_OUT = 0xffff_ffff;

export function asyncIoHostcalls(ctx: GuestContext): HostcallModule {
  /** The pending id to wait for, or null when the item is ready now. */
  function waitable(handle: number): number | null {
    const item = ctx.resources.peek(handle);
    if (item === undefined) throw new HostcallError(Status.BADF, `invalid async item handle ${handle}`);
    return item.kind === "pending" ? item.pendingId : null;
  }
  return {
    select(handlesPtr, handlesLen, timeoutMs, readyIndexOut) {
      // Viceroy: an empty list with no timeout would wait forever: INVAL. Timeout 0 means no timeout.
      if (handlesLen === 0 && timeoutMs === 0) throw new HostcallError(Status.INVAL, "select on nothing, forever");
      const items: Array<number | null> = [];
      for (let i = 0; i < handlesLen; i++) items.push(waitable(ctx.mem.u32(handlesPtr + 4 * i)));
      const ready = items.indexOf(null);
      const index = ready !== -1 ? ready : ctx.rpc.call("select", { items, timeoutMs });
      ctx.mem.setU32(readyIndexOut, index === -1 ? TIMED_OUT : index);
    },
    is_ready(handle, readyOut) {
      const pendingId = waitable(handle);
      const ready = pendingId === null || ctx.rpc.call("pending.isDone", { pendingId });
      ctx.mem.setU32(readyOut, ready ? 1 : 0);
    },
  };
}
