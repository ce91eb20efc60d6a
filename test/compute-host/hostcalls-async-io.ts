/**
 * `fastly_async_io` (Viceroy `src/async_io.rs`), which js-compute's event loop runs on (fetch, setTimeout,
 * Promise.race). Bodies, KV lookups and HTTP cache handles are ready at once (the host holds them whole); pending
 * backend requests are ready once the main thread has their response or failure, a Core Cache body still being
 * written once it has bytes past the reader (or ended), a busy Core Cache handle once its lookup is done.
 */
import { HostcallError, Status } from "./fastly-status.ts";
import type { GuestContext, HostcallModule } from "./guest-context.ts";
import type { SelectWait } from "./host-protocol.ts";

/** What select answers when the timeout passes first. */
const TIMED_OUT = 0xffff_ffff;

export function asyncIoHostcalls(ctx: GuestContext): HostcallModule {
  /** What to wait for in the main thread, or null when the item is ready now. */
  function waitable(handle: number): SelectWait | null {
    const item = ctx.resources.peek(handle);
    if (item === undefined) throw new HostcallError(Status.BADF, `invalid async item handle ${handle}`);
    switch (item.kind) {
      case "pending":
        return { pendingId: item.pendingId };
      case "body":
        return item.body.waitForData();
      case "core-cache":
        return item.waitId === null ? null : { waitId: item.waitId };
      default:
        return null;
    }
  }
  return {
    select(handlesPtr, handlesLen, timeoutMs, readyIndexOut) {
      // Viceroy: an empty list with no timeout would wait forever: INVAL. Timeout 0 means no timeout.
      if (handlesLen === 0 && timeoutMs === 0) throw new HostcallError(Status.INVAL, "select on nothing, forever");
      const items: Array<SelectWait | null> = [];
      for (let i = 0; i < handlesLen; i++) items.push(waitable(ctx.mem.u32(handlesPtr + 4 * i)));
      const ready = items.indexOf(null);
      const index = ready !== -1 ? ready : ctx.rpc.call("select", { items, timeoutMs });
      ctx.mem.setU32(readyIndexOut, index === -1 ? TIMED_OUT : index);
    },
    is_ready(handle, readyOut) {
      const wait = waitable(handle);
      const ready = wait === null || ctx.rpc.call("ready", wait);
      ctx.mem.setU32(readyOut, ready ? 1 : 0);
    },
  };
}
