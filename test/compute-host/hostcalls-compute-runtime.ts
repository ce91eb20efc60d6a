/** `fastly_compute_runtime` (Viceroy `src/wiggle_abi/compute_runtime.rs`). */
import type { GuestContext, HostcallModule } from "./guest-context.ts";

const MEBIBYTE = 1024 * 1024;

export function computeRuntimeHostcalls(ctx: GuestContext): HostcallModule {
  return {
    // The instance's memory, rounded up to a whole MiB as Viceroy does (js-compute reads it for `maxMemoryMiB`).
    get_heap_mib(mibOut) {
      ctx.mem.setU32(mibOut, Math.ceil(ctx.mem.byteLength() / MEBIBYTE));
    },
  };
}
