/// <reference types="@fastly/js-compute" />
import { createEdgeHandler } from "./edge-handler.ts";

// Runs once, at build time (Wizer): nothing here may touch a request, a store or the network.
const handle = createEdgeHandler();

// crypto.subtle sets itself up at its first digest, which cost ~3 ms of `_start` under the local Compute host, and every
// request starts from the build's snapshot: one digest here, at build time, takes that out of every filtered answer's
// ETag. (Running the core's other paths here as well was measured too: no gain beyond noise, as the engine's code is
// compiled before the snapshot either way.)
void crypto.subtle.digest("SHA-256", new Uint8Array(1));

// Work after the answer (storing a new answer in the Core Cache) runs on a timer: timers run once the answer promise
// has settled and the SDK has begun sending it, and \`waitUntil\` keeps the request alive until the work is done.
const afterAnswer = (event: FetchEvent) => (work: () => void) =>
  event.waitUntil(new Promise<void>((done) => setTimeout(() => done(work()), 0)));

addEventListener("fetch", (event) => event.respondWith(handle(event.request, { afterAnswer: afterAnswer(event) })));
