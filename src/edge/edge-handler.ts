import { RETRY_AFTER_SECONDS } from "../core/crate-decider.ts";
import { applyPolicy, type Policy } from "../core/policy-document.ts";
import type { Clock } from "../core/ports.ts";
import { createCooldownProxy } from "../core/proxy.ts";
import { plainText } from "../core/responses.ts";
import { type BackendFetch, backendUpstream } from "./backend-upstream.ts";
import { withCompressHint } from "./compress-hint.ts";
import { cratesIoRulesWith, readEdgeSettings } from "./edge-settings.ts";
import { ENGINE_INDEX_SCAN } from "./engine-index-scan.ts";
import { kvFreshness } from "./kv-freshness.ts";
import { readKvPolicy } from "./kv-policy.ts";
import { kvPublishTimes } from "./kv-publish-times.ts";
import { EDGE_SERVICE } from "./service-info.ts";

export interface EdgeHandlerOptions {
  /** Compute's global `fetch` unless a test passes its own. */
  readonly fetch?: BackendFetch;
  readonly clock?: Clock;
}

export type EdgeHandler = (request: Request) => Promise<Response>;

/**
 * The core proxy wired to Fastly: backend + edge cache upstream, KV publish times, policy and freshness, Config Store
 * settings. Settings and stores are read per request because Compute opens them only while a request is handled (the
 * handler itself is created at build time); assembling the core proxy is a few closures.
 */
export function createEdgeHandler(options: EdgeHandlerOptions = {}): EdgeHandler {
  return async (request) => {
    const settings = readEdgeSettings();
    let policy: Policy;
    try {
      policy = await readKvPolicy();
    } catch (error) {
      // Fail closed and loudly: without the operator's policy, nothing can be decided as they meant it.
      const message = error instanceof Error ? error.message : String(error);
      return withCompressHint(plainText(503, `policy unavailable: ${message}`, { "retry-after": RETRY_AFTER_SECONDS }));
    }
    const proxy = createCooldownProxy({
      upstream: backendUpstream({ maxTtlSeconds: settings.upstreamMaxTtlSeconds, fetch: options.fetch }),
      publishTimes: kvPublishTimes(),
      rules: applyPolicy(cratesIoRulesWith(settings), policy),
      freshness: kvFreshness(),
      service: EDGE_SERVICE,
      clock: options.clock,
      scan: ENGINE_INDEX_SCAN,
    });
    return withCompressHint(await proxy(request));
  };
}
