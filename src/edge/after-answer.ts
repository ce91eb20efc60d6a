/**
 * Work a request does after its answer has gone out (storing a new answer or scan in the Core Cache): the client need
 * not wait for it. Without one, callers run such work before answering.
 */
export type AfterAnswer = (work: () => void) => void;

/** Runs the work at once, before the answer: for callers that cannot run work after it. */
export const AT_ONCE: AfterAnswer = (work) => work();

/**
 * Compute's way: a timer, which runs once the answer's promise has settled and the SDK has begun sending it, kept
 * alive by `event.waitUntil` until the work is done.
 */
export function afterAnswerOf(event: { waitUntil(work: Promise<unknown>): void }): AfterAnswer {
  return (work) => event.waitUntil(new Promise<void>((done) => setTimeout(() => done(work()), 0)));
}
