/**
 * Child process: the fake Fastly KV batch API (test/support/fake-fastly-api.ts), so the push under measurement does
 * not share its event loop with the server decoding its batches. Reports `{listening: url}`; the batches it saw are
 * at `GET /_fake/batches`.
 */
import { startFakeFastlyApi } from "../../test/support/fake-fastly-api.ts";
import { type ChildMessage, exitWhenParentLeaves } from "./child-server.ts";

const api = await startFakeFastlyApi({ lifetimeMs: 30 * 60_000 });
process.send?.({ listening: api.url } satisfies ChildMessage);
exitWhenParentLeaves(() => api.close());
