import { describe, expect, it } from "vitest";
import { HostcallError, Status } from "./fastly-status.ts";
import { GuestMemory, latin1Bytes } from "./guest-memory.ts";

function memory(): GuestMemory {
  const mem = new GuestMemory();
  mem.attach(new WebAssembly.Memory({ initial: 1 }));
  return mem;
}

const BUF = 1024;
const CURSOR_OUT = 64;
const NWRITTEN_OUT = 72;

function status(run: () => void): number {
  try {
    run();
    return Status.OK;
  } catch (error) {
    if (error instanceof HostcallError) return error.status;
    throw error;
  }
}

describe("GuestMemory: Viceroy's multi-value writer", () => {
  const items = ["alpha", "beta", "gamma"].map(latin1Bytes);

  it("writes every item NUL-terminated and ends the cursor at -1 when all fit", () => {
    const mem = memory();
    mem.writeMultiValue(items, BUF, 100, 0, CURSOR_OUT, NWRITTEN_OUT);
    expect(Buffer.from(mem.read(BUF, mem.u32(NWRITTEN_OUT))).toString("latin1")).toBe("alpha\0beta\0gamma\0");
    expect(mem.u64(CURSOR_OUT)).toBe(BigInt.asUintN(64, -1n));
  });

  it("stops before the first item that does not fit and returns its index as the cursor; the guest continues from it", () => {
    const mem = memory();
    mem.writeMultiValue(items, BUF, 12, 0, CURSOR_OUT, NWRITTEN_OUT);
    expect(Buffer.from(mem.read(BUF, mem.u32(NWRITTEN_OUT))).toString("latin1")).toBe("alpha\0beta\0");
    expect(mem.u64(CURSOR_OUT)).toBe(2n);
    mem.writeMultiValue(items, BUF, 12, 2, CURSOR_OUT, NWRITTEN_OUT);
    expect(Buffer.from(mem.read(BUF, mem.u32(NWRITTEN_OUT))).toString("latin1")).toBe("gamma\0");
    expect(mem.u64(CURSOR_OUT)).toBe(BigInt.asUintN(64, -1n));
  });

  it("answers BUFLEN with the size of the first item (and its NUL) when not even that fits", () => {
    const mem = memory();
    expect(status(() => mem.writeMultiValue(items, BUF, 4, 0, CURSOR_OUT, NWRITTEN_OUT))).toBe(Status.BUFLEN);
    expect(mem.u32(NWRITTEN_OUT)).toBe(6);
  });

  it("writeFitting answers BUFLEN with the needed length, and writes when it fits", () => {
    const mem = memory();
    const value = latin1Bytes("x".repeat(600));
    expect(status(() => mem.writeFitting(value, BUF, 512, NWRITTEN_OUT))).toBe(Status.BUFLEN);
    expect(mem.u32(NWRITTEN_OUT)).toBe(600);
    mem.writeFitting(value, BUF, 600, NWRITTEN_OUT);
    expect(mem.u32(NWRITTEN_OUT)).toBe(600);
  });
});
