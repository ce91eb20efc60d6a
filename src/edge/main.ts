/// <reference types="@fastly/js-compute" />
import { createEdgeHandler } from "./edge-handler.ts";

// Runs once, at build time (Wizer): nothing here may touch a request, a store or the network.
const handle = createEdgeHandler();

addEventListener("fetch", (event) => event.respondWith(handle(event.request)));
