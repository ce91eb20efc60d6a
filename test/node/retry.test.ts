import { describe, expect, it } from "vitest";
import {
  type RetryDecision,
  type RetryNotice,
  type RetryPolicy,
  RetryWaitTooLongError,
  withRetries,
} from "../../src/node/retry.ts";

const POLICY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 8, maxDelayMs: 20, maxWaitMs: 1_000, maxWaits: 2 };

/** An operation failing with the given errors, one per attempt, then answering "done". */
function failing(...errors: Error[]) {
  let calls = 0;
  const operation = async () => {
    const error = errors[calls++];
    if (error !== undefined) throw error;
    return "done";
  };
  return { operation, calls: () => calls };
}

const classifyAs = (decision: RetryDecision) => () => decision;

describe("withRetries", () => {
  it("returns the first success, backing off between failed attempts with doubling, capped, jittered delays", async () => {
    const { operation, calls } = failing(new Error("a"), new Error("b"), new Error("c"));
    const notices: RetryNotice[] = [];
    const result = await withRetries(operation, POLICY, {
      classify: classifyAs({ kind: "back-off" }),
      onRetry: (n) => notices.push(n),
      random: () => 0.5,
    });
    expect(result).toBe("done");
    expect(calls()).toBe(4);
    // 87.5 % (random 0.5 between 75 % and 100 %, see backoff.ts) of 8, 16, then the cap 20.
    expect(notices.map((n) => n.delayMs)).toEqual([7, 14, 18]);
    expect(notices.map((n) => n.attempt)).toEqual([1, 2, 3]);
  });

  it("throws the last error unchanged once the attempts run out", async () => {
    const last = new Error("still down");
    const { operation, calls } = failing(new Error("1"), new Error("2"), new Error("3"), last);
    await expect(withRetries(operation, POLICY, { classify: classifyAs({ kind: "back-off" }) })).rejects.toBe(last);
    expect(calls()).toBe(4);
  });

  it("does not repeat an error classified as not worth repeating", async () => {
    const refused = new Error("401");
    const { operation, calls } = failing(refused);
    await expect(withRetries(operation, POLICY, { classify: classifyAs({ kind: "give-up" }) })).rejects.toBe(refused);
    expect(calls()).toBe(1);
  });

  it("waits until the moment the server named, without using up back-off attempts", async () => {
    const { operation, calls } = failing(new Error("429"), new Error("429"));
    const notices: RetryNotice[] = [];
    const at = Date.now() + 50;
    await withRetries(
      operation,
      { ...POLICY, maxAttempts: 1 },
      { classify: classifyAs({ kind: "wait-until", at }), onRetry: (n) => notices.push(n) },
    );
    expect(calls()).toBe(3);
    expect(Date.now()).toBeGreaterThanOrEqual(at);
    expect(notices.every((n) => n.reason === "wait-until")).toBe(true);
  });

  it("stops with the moment to resume when the server asks for a longer wait than allowed", async () => {
    const limited = new Error("429");
    const at = Date.now() + 3_600_000;
    const attempt = withRetries(failing(limited).operation, POLICY, {
      classify: classifyAs({ kind: "wait-until", at }),
    });
    await expect(attempt).rejects.toBeInstanceOf(RetryWaitTooLongError);
    await expect(attempt).rejects.toMatchObject({ resumeAt: at, cause: limited });
  });

  it("honours only so many waits in a row, so a server that keeps saying later cannot hold a job forever", async () => {
    const { operation, calls } = failing(new Error("1"), new Error("2"), new Error("3"));
    await expect(
      withRetries(operation, POLICY, { classify: classifyAs({ kind: "wait-until", at: 0 }) }),
    ).rejects.toThrow("3");
    expect(calls()).toBe(3);
  });

  it("stops waiting at once when aborted", async () => {
    const interrupt = new AbortController();
    // The back-off is a minute, twice the test's timeout: only an abort that ends the wait lets the test finish.
    const attempt = withRetries(
      failing(new Error("x")).operation,
      { ...POLICY, baseDelayMs: 60_000, maxDelayMs: 60_000 },
      {
        classify: classifyAs({ kind: "back-off" }),
        onRetry: () => setTimeout(() => interrupt.abort(), 10),
        signal: interrupt.signal,
      },
    );
    await expect(attempt).rejects.toThrow();
  });
});
