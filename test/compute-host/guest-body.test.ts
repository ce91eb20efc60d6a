import { describe, expect, it } from "vitest";
import { Body, ownBuffer } from "./guest-body.ts";

describe("a body's bytes handed to the main thread", () => {
  it("drains one chunk as that chunk, and several as one new array", () => {
    const chunk = new Uint8Array([1, 2, 3]);
    expect(new Body(chunk).drain()).toBe(chunk);
    const two = new Body(new Uint8Array([1]));
    two.push(new Uint8Array([2, 3]));
    expect([...two.drain()]).toEqual([1, 2, 3]);
    expect(two.length).toBe(0);
  });

  it("moves a buffer only when the bytes fill it alone, so moving it detaches nothing else", () => {
    const whole = new Uint8Array([1, 2, 3]);
    expect(ownBuffer(whole)).toBe(whole);

    const backing = new Uint8Array([1, 2, 3, 4, 5, 6]);
    const view = backing.subarray(2, 4);
    const owned = ownBuffer(view);
    expect([...owned]).toEqual([3, 4]);
    expect(owned.buffer).not.toBe(backing.buffer);
    expect(owned.buffer.byteLength).toBe(2);

    // Small Node Buffers share a pool; a zero-length one may share its buffer too.
    const pooled = Buffer.from("abc");
    expect(ownBuffer(pooled).buffer).not.toBe(pooled.buffer);
    const empty = Buffer.alloc(0);
    expect(ownBuffer(empty).buffer).not.toBe(empty.buffer);

    const moved = ownBuffer(view);
    structuredClone(moved, { transfer: [moved.buffer] });
    expect([...backing]).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
