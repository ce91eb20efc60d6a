import { describe, expect, it } from "vitest";
import { afterAnswerOf } from "../../src/edge/after-answer.ts";

describe("afterAnswerOf", () => {
  it("runs the work on a later timer, not before the answer's promise settles, and keeps the request alive until then", async () => {
    const kept: Promise<unknown>[] = [];
    const done: string[] = [];
    const afterAnswer = afterAnswerOf({ waitUntil: (work) => kept.push(work) });
    const answer = (async () => {
      afterAnswer(() => done.push("stored"));
      done.push("answered");
      return "the answer";
    })();
    await answer;
    await Promise.resolve();
    expect(done).toEqual(["answered"]);
    expect(kept).toHaveLength(1);
    await kept[0];
    expect(done).toEqual(["answered", "stored"]);
  });
});
