import { describe, expect, it } from "vitest";
import { threadCpuClock } from "./thread-cpu-clock.ts";

describe("the thread CPU clock the host times _start with", () => {
  const clock = threadCpuClock();

  it("exists on Linux", () => {
    expect(clock).not.toBeNull();
  });

  it("counts work done on this thread, never more than the wall time it took", () => {
    const cpuBefore = clock!();
    const wallBefore = performance.now();
    let sum = 0;
    while (performance.now() - wallBefore < 30) sum += Math.sqrt(sum + 1);
    const cpuMs = (clock!() - cpuBefore) / 1e6;
    const wallMs = performance.now() - wallBefore;
    expect(sum).toBeGreaterThan(0);
    expect(cpuMs).toBeGreaterThan(0);
    // A single thread cannot run longer than the time that passed (the schedstat reading it replaced could).
    expect(cpuMs).toBeLessThanOrEqual(wallMs + 0.5);
  });

  it("does not count time the thread spends blocked", () => {
    const cpuBefore = clock!();
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    expect((clock!() - cpuBefore) / 1e6).toBeLessThan(50);
  });
});
