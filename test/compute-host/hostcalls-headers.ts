/**
 * Header hostcalls shared by requests and responses (Viceroy `src/wiggle_abi/headers.rs`). Names are compared
 * lowercase (http's HeaderName); name lists are unique names in order of first appearance; values of a name in order.
 */
import { HostcallError, Status } from "./fastly-status.ts";
import type { GuestContext, HostcallModule } from "./guest-context.ts";
import { latin1Bytes } from "./guest-memory.ts";
import type { Headers } from "./guest-resources.ts";

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const MAX_HEADER_NAME_LEN = (1 << 16) - 1;

export function headerName(ctx: GuestContext, ptr: number, len: number): string {
  if (len > MAX_HEADER_NAME_LEN) throw new HostcallError(Status.INVAL, "header name too long");
  const name = ctx.mem.latin1(ptr, len);
  // http::HeaderName::from_bytes failing is Error::InvalidHeaderName → ERROR.
  if (!TOKEN.test(name)) throw new HostcallError(Status.ERROR, `invalid header name ${JSON.stringify(name)}`);
  return name.toLowerCase();
}

export function headerValue(ctx: GuestContext, ptr: number, len: number): string {
  const value = ctx.mem.latin1(ptr, len);
  // http::HeaderValue::from_bytes refuses control characters other than tab (Error::InvalidHeaderValue → ERROR).
  if (/[\0-\x08\x0a-\x1f\x7f]/.test(value)) throw new HostcallError(Status.ERROR, "invalid header value");
  return value;
}

export function headerHostcalls(ctx: GuestContext, headersOf: (handle: number) => Headers): HostcallModule {
  return {
    header_names_get(handle, buf, bufLen, cursor, endingCursorOut, nwrittenOut) {
      const names = headersOf(handle).names().map(latin1Bytes);
      ctx.mem.writeMultiValue(names, buf, bufLen, cursor, endingCursorOut, nwrittenOut);
    },
    header_value_get(handle, namePtr, nameLen, valuePtr, valueMaxLen, nwrittenOut) {
      const values = headersOf(handle).values(headerName(ctx, namePtr, nameLen));
      // Viceroy: an absent header is InvalidArgument here.
      if (values[0] === undefined) throw new HostcallError(Status.INVAL, "no such header");
      ctx.mem.writeFitting(latin1Bytes(values[0]), valuePtr, valueMaxLen, nwrittenOut);
    },
    header_values_get(handle, namePtr, nameLen, buf, bufLen, cursor, endingCursorOut, nwrittenOut) {
      const values = headersOf(handle)
        .values(headerName(ctx, namePtr, nameLen))
        .map(latin1Bytes);
      ctx.mem.writeMultiValue(values, buf, bufLen, cursor, endingCursorOut, nwrittenOut);
    },
    header_values_set(handle, namePtr, nameLen, valuesPtr, valuesLen) {
      const name = headerName(ctx, namePtr, nameLen);
      const raw = ctx.mem.latin1(valuesPtr, valuesLen);
      // NUL-separated with a trailing NUL; the empty item after it is dropped.
      const values = raw.split("\0").slice(0, -1);
      const headers = headersOf(handle);
      headers.remove(name);
      for (const value of values) {
        if (/[\0-\x08\x0a-\x1f\x7f]/.test(value)) throw new HostcallError(Status.ERROR, "invalid header value");
        headers.append(name, value);
      }
    },
    header_insert(handle, namePtr, nameLen, valuePtr, valueLen) {
      headersOf(handle).insert(headerName(ctx, namePtr, nameLen), headerValue(ctx, valuePtr, valueLen));
    },
    header_append(handle, namePtr, nameLen, valuePtr, valueLen) {
      headersOf(handle).append(headerName(ctx, namePtr, nameLen), headerValue(ctx, valuePtr, valueLen));
    },
    header_remove(handle, namePtr, nameLen) {
      if (!headersOf(handle).remove(headerName(ctx, namePtr, nameLen))) {
        throw new HostcallError(Status.INVAL, "no such header to remove");
      }
    },
  };
}
