/** `fastly_http_body` (Viceroy `src/wiggle_abi/body_impl.rs`). */
import { HostcallError, Status } from "./fastly-status.ts";
import { Body } from "./guest-body.ts";
import type { GuestContext, HostcallModule } from "./guest-context.ts";

/** `body_write_end`. */
const END_FRONT = 1;

export function httpBodyHostcalls(ctx: GuestContext): HostcallModule {
  const body = (handle: number) => ctx.resources.body(handle);
  return {
    new(bodyOut) {
      ctx.mem.setU32(bodyOut, ctx.resources.add({ kind: "body", body: new Body() }));
    },
    append(destHandle, srcHandle) {
      const dest = body(destHandle);
      const src = ctx.resources.take(srcHandle, "body").body;
      dest.push(src.drain());
      // A source that broke off makes the destination break off at the same point.
      if (src.failure !== null) dest.failure = src.failure;
    },
    read(handle, buf, bufLen, nreadOut) {
      const chunk = body(handle).read(bufLen);
      ctx.mem.write(buf, chunk);
      ctx.mem.setU32(nreadOut, chunk.length);
    },
    write(handle, buf, bufLen, end, nwrittenOut) {
      const target = body(handle);
      const data = ctx.mem.read(buf, bufLen);
      if (end === END_FRONT) {
        if (target.sink !== null)
          throw new HostcallError(Status.INVAL, "cannot write to the front of a streaming body");
        target.pushFront(data);
      } else {
        target.push(data);
      }
      ctx.mem.setU32(nwrittenOut, data.length);
    },
    close(handle) {
      const closed = ctx.resources.take(handle, "body").body;
      closed.sink?.close(closed.failure);
    },
    abandon(handle) {
      const abandoned = ctx.resources.take(handle, "body").body;
      // An abandoned streaming body ends broken: the client (or the cache) must not take it as complete.
      abandoned.sink?.close({ status: Status.ERROR, message: "body abandoned" });
    },
    known_length(handle, lengthOut) {
      const length = body(handle).knownLength();
      if (length === null) throw new HostcallError(Status.NONE, "length not known");
      ctx.mem.setU64(lengthOut, length);
    },
  };
}
