// Worker threads start without the TypeScript loader that vitest or `node bin/run-ts.js` gave the main thread, and
// Node 20 ignores `--import tsx` in a worker's execArgv: register tsx here, then load the TypeScript worker.
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
await import(workerData.entry);
