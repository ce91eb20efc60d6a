/// <reference types="@fastly/js-compute" />
import { afterAnswerOf } from "./after-answer.ts";
import { createEdgeHandler } from "./edge-handler.ts";

// Runs once, at build time (Wizer): nothing here may touch a request, a store or the network.
const handle = createEdgeHandler();

// crypto.subtle sets itself up at its first digest, which cost ~3 ms of `_start` under the local Compute host, and every
// request starts from the build's snapshot: one digest here, at build time, takes that out of every filtered answer's
// ETag. (Running the core's other paths here as well was measured too: no gain beyond noise, as the engine's code is
// compiled before the snapshot either way.)
void crypto.subtle.digest("SHA-256", new Uint8Array(1));

addEventListener("fetch", (event) => event.respondWith(handle(event.request, { afterAnswer: afterAnswerOf(event) })));
