/**
 * Child process: the real Node server (`startCooldownServer`) on 127.0.0.1, in front of the given upstream, with its
 * clock pinned so the set of hidden versions cannot change during a run.
 * Args: <upstream URL> <database path> <now, Unix seconds> [metrics-off].
 */
import { startCooldownServer } from "../../src/server/start-server.ts";
import { type ChildMessage, exitWhenParentLeaves } from "./child-server.ts";

const [upstream, dbPath, now, metrics] = process.argv.slice(2);
if (upstream === undefined || dbPath === undefined || now === undefined)
  throw new Error("usage: serve-cooldown.ts <upstream> <db> <now>");
const fixedNow = Number(now);
const server = await startCooldownServer({
  listen: "127.0.0.1:0",
  upstream,
  dbPath,
  quiet: true,
  clock: { now: () => fixedNow },
  metrics: metrics !== "metrics-off",
});
exitWhenParentLeaves(() => server.close());
process.send?.({ listening: server.url } satisfies ChildMessage);
