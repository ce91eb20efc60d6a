import { describe, expect, it } from "vitest";
import { runSchedule, type ScheduledJob } from "../../src/job/job-schedule.ts";

function job(name: string, outcomes: (string | Error)[], everyMs = 20): ScheduledJob & { runs: number } {
  const state = {
    name,
    everyMs,
    backoff: { initialMs: 10, capMs: 40 },
    firstRunInMs: 0,
    runs: 0,
    run: async () => {
      const outcome = outcomes[Math.min(state.runs++, outcomes.length - 1)] as string | Error;
      if (outcome instanceof Error) throw outcome;
      return outcome;
    },
  };
  return state;
}

/** Runs the schedule until `done` says so (or 5 s pass), then aborts and waits for it to stop. */
async function runUntil(jobs: ScheduledJob[], done: (log: string[], warn: string[]) => boolean) {
  const log: string[] = [];
  const warn: string[] = [];
  const controller = new AbortController();
  const stopped = runSchedule(jobs, {
    signal: controller.signal,
    log: (l) => log.push(l),
    warn: (l) => warn.push(l),
    random: () => 1,
  });
  const deadline = Date.now() + 5_000;
  while (!done(log, warn) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  controller.abort();
  await stopped;
  return { log, warn };
}

describe("runSchedule", () => {
  it("repeats a succeeding job every interval, logging each summary", async () => {
    const feed = job("feed", ["polled"]);
    const { log } = await runUntil([feed], (l) => l.length >= 3);
    expect(log.slice(0, 3)).toEqual(["polled", "polled", "polled"]);
  });

  it("survives failures: one line each, retried after a growing back-off, reset by a success", async () => {
    const feed = job("feed", [
      new Error("cannot fetch the feed: the server answered 503"),
      new Error("again\nwith a second line"),
      "polled",
    ]);
    const { log, warn } = await runUntil([feed], (l) => l.length >= 1);
    expect(warn).toEqual([
      "ingest watch: feed failed (1 in a row): cannot fetch the feed: the server answered 503; next try in 10ms",
      "ingest watch: feed failed (2 in a row): again; next try in 20ms",
    ]);
    expect(log[0]).toBe("polled");
  });

  it("keeps the other job running while one keeps failing", async () => {
    const dump = job("dump", [new Error("no dump today")]);
    const feed = job("feed", ["polled"]);
    const { log, warn } = await runUntil([dump, feed], (l, w) => l.length >= 3 && w.length >= 3);
    expect(log.every((line) => line === "polled")).toBe(true);
    expect(warn.slice(0, 3).map((line) => /\((\d) in a row\)/.exec(line)?.[1])).toEqual(["1", "2", "3"]);
  });

  it("stops promptly when aborted, even in the middle of a long wait", async () => {
    // The next run is an hour away, far beyond the test's timeout: only an abort that ends the wait lets it finish.
    const slow = job("dump", ["ingested"], 60 * 60_000);
    await runUntil([slow], (l) => l.length >= 1);
    expect(slow.runs).toBe(1);
  });
});
