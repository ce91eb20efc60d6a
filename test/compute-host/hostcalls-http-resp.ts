/**
 * `fastly_http_resp` (Viceroy `src/wiggle_abi/resp_impl.rs`): building responses and sending one downstream. A
 * non-streaming send hands status, headers and the whole body to the main thread at once; a streaming send hands
 * what is written so far and then each later write, until the body is closed.
 */
import { HostcallError, Status } from "./fastly-status.ts";
import { ownBuffer } from "./guest-body.ts";
import type { GuestContext, HostcallModule } from "./guest-context.ts";
import { Headers } from "./guest-resources.ts";
import { headerHostcalls } from "./hostcalls-headers.ts";

const HTTP_11 = 2;

export function httpRespHostcalls(ctx: GuestContext): HostcallModule {
  const response = (handle: number) => ctx.resources.get(handle, "response");
  return {
    ...headerHostcalls(ctx, (handle) => response(handle).headers),

    new(responseOut) {
      ctx.mem.setU32(
        responseOut,
        ctx.resources.add({ kind: "response", status: 200, headers: new Headers(), version: HTTP_11 }),
      );
    },
    close(handle) {
      ctx.resources.take(handle, "response");
    },
    status_get(handle, statusOut) {
      ctx.mem.setU16(statusOut, response(handle).status);
    },
    status_set(handle, status) {
      // hyper::StatusCode::from_u16 accepts 100..=999; anything else is InvalidStatusCode → INVAL.
      if (status < 100 || status > 999) throw new HostcallError(Status.INVAL, `invalid status ${status}`);
      response(handle).status = status;
    },
    version_get(handle, versionOut) {
      ctx.mem.setU32(versionOut, response(handle).version);
    },
    version_set(handle, version) {
      response(handle).version = version;
    },
    framing_headers_mode_set(handle) {
      response(handle);
    },
    http_keepalive_mode_set(handle) {
      response(handle);
    },
    send_downstream(responseHandle, bodyHandle, streaming) {
      if (ctx.responseSent) throw new HostcallError(Status.ERROR, "a downstream response was already sent");
      const resp = ctx.resources.take(responseHandle, "response");
      const bodyResource =
        streaming === 1 ? ctx.resources.get(bodyHandle, "body") : ctx.resources.take(bodyHandle, "body");
      const body = bodyResource.body;
      ctx.responseSent = true;
      const requestId = ctx.requestId;
      // Moved, not copied, to the main thread: a 1 MB answer cost ~1 ms of the request's CPU in copies (a native host
      // hands its buffer to the client connection).
      const bytes = ownBuffer(body.drain());
      const failed = body.failure !== null;
      ctx.post(
        {
          type: "response",
          requestId,
          status: resp.status,
          headers: resp.headers.list,
          body: bytes,
          streaming: streaming === 1,
          broken: failed,
        },
        [bytes.buffer],
      );
      if (streaming === 1) {
        ctx.streamingOpen = true;
        body.sink = {
          write: (data) => {
            const copy = Uint8Array.from(data);
            ctx.post({ type: "chunk", requestId, data: copy }, [copy.buffer]);
          },
          close: (failure) => {
            ctx.streamingOpen = false;
            ctx.post({ type: "end", requestId, broken: failure !== null });
          },
        };
      }
    },
  };
}
