/**
 * The WASI preview1 calls a js-compute guest makes while serving a request: arguments and environment (as Viceroy
 * sets them, `src/linking.rs`), clocks (realtime shifted by the host's clock option), stdout/stderr, randomness,
 * exit, timer sleeps (poll_oneoff on clocks). Every other WASI import fails loudly through import-object.ts.
 */
import { randomFillSync } from "node:crypto";
import type { GuestContext, HostcallModule } from "./guest-context.ts";
import { utf8Bytes } from "./guest-memory.ts";

const ERRNO_SUCCESS = 0;
const ERRNO_BADF = 8;
const CLOCK_REALTIME = 0;
const CLOCK_MONOTONIC = 1;
const ERRNO_INVAL = 28;
const EVENTTYPE_CLOCK = 0;
const FILETYPE_CHARACTER_DEVICE = 2;
/** `rights::fd_write`: the only thing a guest may do with stdout/stderr here. */
const RIGHT_FD_WRITE = 1n << 6n;
const SUBCLOCKFLAGS_ABSTIME = 1;
const SUBSCRIPTION_SIZE = 48;
/** Something to Atomics.wait on that nobody notifies: a synchronous sleep. */
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** `proc_exit`: unwinds out of `_start`; the worker tells it apart from a trap. */
export class ProcExit extends Error {
  constructor(readonly code: number) {
    super(`proc_exit(${code})`);
  }
}

export interface WasiHost {
  readonly imports: HostcallModule;
  /** Emits any partial last line. */
  flush(): void;
}

export function wasiSubset(ctx: GuestContext, options: { traceId: string; log: (line: string) => void }): WasiHost {
  const args = ["compute-app"].map((arg) => utf8Bytes(`${arg}\0`));
  const environment = Object.entries({
    FASTLY_CACHE_GENERATION: "0",
    FASTLY_CUSTOMER_ID: "0000000000000000000000",
    FASTLY_POP: "XXX",
    FASTLY_REGION: "Somewhere",
    FASTLY_SERVICE_ID: "0000000000000000000000",
    FASTLY_SERVICE_VERSION: "0",
    FASTLY_HOSTNAME: "localhost",
    FASTLY_IS_STAGING: "0",
    FASTLY_TRACE_ID: options.traceId,
  }).map(([name, value]) => utf8Bytes(`${name}=${value}\0`));
  const partial: Record<number, string> = { 1: "", 2: "" };
  const decoder = new TextDecoder();

  function writeList(list: Uint8Array[], pointers: number, buffer: number): void {
    let offset = buffer;
    list.forEach((item, i) => {
      ctx.mem.setU32(pointers + 4 * i, offset);
      ctx.mem.write(offset, item);
      offset += item.length;
    });
  }

  function output(fd: number, text: string): void {
    const lines = (partial[fd] + text).split("\n");
    partial[fd] = lines.pop()!;
    for (const line of lines) options.log(line);
  }

  // WASI calls answer an errno, not a fastly_status; import-object.ts wraps them the same way (0 = success).
  const imports: HostcallModule = {
    args_sizes_get(argcOut, bufSizeOut) {
      ctx.mem.setU32(argcOut, args.length);
      ctx.mem.setU32(
        bufSizeOut,
        args.reduce((sum, a) => sum + a.length, 0),
      );
    },
    args_get(argv, argvBuf) {
      writeList(args, argv, argvBuf);
    },
    environ_sizes_get(countOut, bufSizeOut) {
      ctx.mem.setU32(countOut, environment.length);
      ctx.mem.setU32(
        bufSizeOut,
        environment.reduce((sum, e) => sum + e.length, 0),
      );
    },
    environ_get(environ, environBuf) {
      writeList(environment, environ, environBuf);
    },
    clock_time_get(id, _precision, timeOut) {
      if (id === CLOCK_REALTIME) {
        const nowMs = performance.timeOrigin + performance.now() + ctx.clockOffsetMs;
        ctx.mem.setU64(timeOut, BigInt(Math.round(nowMs * 1_000_000)));
      } else if (id === CLOCK_MONOTONIC) {
        ctx.mem.setU64(timeOut, process.hrtime.bigint());
      } else {
        throw new Error(`compute-host: wasi_snapshot_preview1.clock_time_get for clock ${id} is not implemented`);
      }
    },
    fd_write(fd, iovs, iovsLen, nwrittenOut) {
      let written = 0;
      const parts: Uint8Array[] = [];
      for (let i = 0; i < iovsLen; i++) {
        const ptr = ctx.mem.u32(iovs + 8 * i);
        const len = ctx.mem.u32(iovs + 8 * i + 4);
        parts.push(ctx.mem.read(ptr, len));
        written += len;
      }
      if (fd !== 1 && fd !== 2) throw new WasiErrno(ERRNO_BADF);
      output(fd, decoder.decode(Buffer.concat(parts)));
      ctx.mem.setU32(nwrittenOut, written);
    },
    // A guest's console.log asks what stdout is before its first write of a request (wasi-libc's stdio setup).
    fd_fdstat_get(fd, statOut) {
      if (fd !== 1 && fd !== 2) throw new WasiErrno(ERRNO_BADF);
      ctx.mem.write(statOut, new Uint8Array(24));
      ctx.mem.setU8(statOut, FILETYPE_CHARACTER_DEVICE);
      ctx.mem.setU64(statOut + 8, RIGHT_FD_WRITE);
    },
    // js-compute's event loop sleeps here when only timers are pending (setTimeout without a fetch in flight).
    // Clock subscriptions only: the earliest one fires after the worker sleeps until it.
    poll_oneoff(subscriptions, events, count, neventsOut) {
      let earliest: { userdata: bigint; waitNs: bigint } | null = null;
      for (let i = 0; i < count; i++) {
        const sub = subscriptions + SUBSCRIPTION_SIZE * i;
        if (ctx.mem.u8(sub + 8) !== EVENTTYPE_CLOCK) {
          throw new Error("compute-host: wasi_snapshot_preview1.poll_oneoff on file descriptors is not implemented");
        }
        const clockId = ctx.mem.u32(sub + 16);
        const timeout = ctx.mem.u64(sub + 24);
        const absolute = (ctx.mem.u8(sub + 40) & SUBCLOCKFLAGS_ABSTIME) !== 0;
        let waitNs = timeout;
        if (absolute) {
          const nowNs =
            clockId === CLOCK_MONOTONIC
              ? process.hrtime.bigint()
              : BigInt(Math.round((performance.timeOrigin + performance.now() + ctx.clockOffsetMs) * 1e6));
          waitNs = timeout > nowNs ? timeout - nowNs : 0n;
        }
        if (earliest === null || waitNs < earliest.waitNs) earliest = { userdata: ctx.mem.u64(sub), waitNs };
      }
      if (earliest === null) throw new WasiErrno(ERRNO_INVAL);
      if (earliest.waitNs > 0n) Atomics.wait(sleeper, 0, 0, Number(earliest.waitNs) / 1e6);
      ctx.mem.setU64(events, earliest.userdata);
      ctx.mem.setU16(events + 8, ERRNO_SUCCESS);
      ctx.mem.setU8(events + 10, EVENTTYPE_CLOCK);
      ctx.mem.setU32(neventsOut, 1);
    },
    random_get(buf, len) {
      const bytes = new Uint8Array(len);
      randomFillSync(bytes);
      ctx.mem.write(buf, bytes);
    },
    proc_exit(code) {
      throw new ProcExit(code);
    },
  };
  return {
    imports,
    flush() {
      for (const fd of [1, 2]) {
        if (partial[fd] !== "") options.log(partial[fd]!);
        partial[fd] = "";
      }
    },
  };
}

/** A WASI call answering a non-zero errno. */
export class WasiErrno extends Error {
  constructor(readonly errno: number) {
    super(`errno ${errno}`);
  }
}

export { ERRNO_SUCCESS };
