/**
 * The calling thread's CPU time in nanoseconds, exact: POSIX CLOCK_THREAD_CPUTIME_ID, reached through node:wasi's
 * `clock_time_get` (Node 20 has no `process.threadCpuUsage`). /proc/thread-self/schedstat was the first choice, but the
 * kernel updates it only at a scheduler tick, so for a `_start` of a few ms it read more CPU than wall time.
 */
import { createRequire } from "node:module";

/** WASI's id for CLOCK_THREAD_CPUTIME_ID. */
const THREAD_CPUTIME = 3;

/**
 * (module
 *   (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
 *   (memory (export "memory") 1)
 *   (func (export "now") (result i64)
 *     (drop (call $clock (i32.const 3) (i64.const 1) (i32.const 0)))
 *     (i64.load (i32.const 0))))
 * Written out in bytes: no assembler is a dependency, and the module never changes.
 */
const MODULE = new Uint8Array([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
  ...[0x01, 12, 2, 0x60, 3, 0x7f, 0x7e, 0x7f, 1, 0x7f, 0x60, 0, 1, 0x7e],
  ...[0x02, 41, 1, 22, ...ascii("wasi_snapshot_preview1"), 14, ...ascii("clock_time_get"), 0x00, 0],
  ...[0x03, 2, 1, 1],
  ...[0x05, 3, 1, 0x00, 1],
  ...[0x07, 16, 2, 6, ...ascii("memory"), 0x02, 0, 3, ...ascii("now"), 0x00, 1],
  ...[0x0a, 18, 1, 16, 0, 0x41, THREAD_CPUTIME, 0x42, 1, 0x41, 0, 0x10, 0, 0x1a, 0x41, 0, 0x29, 3, 0, 0x0b],
]);

function ascii(text: string): number[] {
  return [...text].map((char) => char.charCodeAt(0));
}

/** A function reading this thread's CPU clock in ns, or null where the platform gives none. */
export function threadCpuClock(): (() => number) | null {
  try {
    // Loaded here, not imported: node:wasi warns as it loads, and only that warning is to be left out.
    const { WASI } = withoutWasiWarning(
      () => createRequire(import.meta.url)("node:wasi") as typeof import("node:wasi"),
    );
    const wasi = new WASI({ version: "preview1" });
    const instance = new WebAssembly.Instance(
      new WebAssembly.Module(MODULE),
      wasi.getImportObject() as WebAssembly.Imports,
    );
    wasi.initialize(instance);
    const now = instance.exports.now as () => bigint;
    const first = now();
    if (first <= 0n) return null;
    return () => Number(now());
  } catch {
    return null;
  }
}

/** Node 20 warns that WASI is experimental when node:wasi loads; this one use is deliberate, other warnings stay. */
function withoutWasiWarning<T>(make: () => T): T {
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === "string" ? warning : warning.message;
    if (/WASI/.test(text)) return;
    (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return make();
  } finally {
    process.emitWarning = emitWarning;
  }
}
