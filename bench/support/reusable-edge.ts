/**
 * The edge as `src/edge/main.ts` builds it, in a reusable sandbox (`fastly:experimental` setReusableSandboxOptions):
 * one instance takes request after request instead of a fresh one each. Built only by the benchmarks, to set that
 * mode beside the edge's own; the product does not use it (see docs/benchmarks.md, "Reusable sandboxes").
 */
import "../../src/edge/main.ts";
import { setReusableSandboxOptions } from "fastly:experimental";

// Build time (Wizer), as the SDK requires; no limit on requests per instance, as the benchmarks ask one at a time.
setReusableSandboxOptions({ maxRequests: 0 });
