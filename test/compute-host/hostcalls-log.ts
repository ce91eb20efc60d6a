/**
 * `fastly_log` (Viceroy `src/wiggle_abi/log_impl.rs`, `src/logging.rs`, `src/sandbox.rs`): named log endpoints, what
 * `fastly:logger`'s `Logger` writes through. js-compute (`builtins/logger.cpp`, `host-api/host_api.cpp`) asks for the
 * endpoint on the first `log()` of a Logger and throws what endpoint_get answers; `write` gets the message as bytes
 * and an out-param for the count written.
 *
 * As Viceroy: every name is an endpoint except the reserved `stdout`, `stderr` and `fst_managed_…` (any case) → INVAL;
 * one handle per name and instance; `write` never fails for the guest and answers the whole length. Where the entry
 * goes is the main thread's business (compute-host.ts: a file per configured endpoint, else the host's log).
 */
import { HostcallError, Status } from "./fastly-status.ts";
import type { GuestContext, HostcallModule } from "./guest-context.ts";

const RESERVED_ENDPOINT = /^(stdout|stderr)$|^fst_managed_/i;

export function logHostcalls(ctx: GuestContext): HostcallModule {
  const handles = new Map<string, number>();
  return {
    endpoint_get(namePtr, nameLen, handleOut) {
      // Viceroy matches the raw bytes; a name is text in every SDK, and latin1 keeps every byte as one character.
      const name = ctx.mem.latin1(namePtr, nameLen);
      if (RESERVED_ENDPOINT.test(name)) {
        throw new HostcallError(Status.INVAL, `log endpoint ${JSON.stringify(name)} is reserved`);
      }
      let handle = handles.get(name);
      if (handle === undefined) {
        handle = ctx.resources.add({ kind: "log-endpoint", name });
        handles.set(name, handle);
      }
      ctx.mem.setU32(handleOut, handle);
    },
    write(endpointHandle, msgPtr, msgLen, nwrittenOut) {
      const endpoint = ctx.resources.get(endpointHandle, "log-endpoint");
      const message = ctx.mem.read(msgPtr, msgLen);
      const entry = logEntry(message);
      if (entry !== null) ctx.post({ type: "log-entry", endpoint: endpoint.name, entry });
      ctx.mem.setU32(nwrittenOut, msgLen);
    },
  };
}

/**
 * Viceroy's `LogEndpoint::write_entry`: one trailing newline is dropped, an empty message writes nothing, and newlines
 * inside become the two characters `\n`, so every write is exactly one line. Answers the line without its newline.
 */
export function logEntry(message: Uint8Array): Uint8Array | null {
  let end = message.length;
  if (end > 0 && message[end - 1] === 0x0a) end -= 1;
  if (end === 0) return null;
  const out: number[] = [];
  for (let i = 0; i < end; i++) {
    const byte = message[i]!;
    if (byte === 0x0a) out.push(0x5c, 0x6e);
    else out.push(byte);
  }
  return Uint8Array.from(out);
}
