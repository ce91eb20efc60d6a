import { RETRY_AFTER_SECONDS } from "../core/crate-decider.ts";
import { applyPolicy } from "../core/policy-document.ts";
import { type Clock, systemClock, type Upstream } from "../core/ports.ts";
import { createCooldownProxy } from "../core/proxy.ts";
import { plainText } from "../core/responses.ts";
import { type AfterAnswer, AT_ONCE } from "./after-answer.ts";
import { cachedAnswers } from "./answer-cache.ts";
import { type BackendFetch, backendUpstream } from "./backend-upstream.ts";
import { type RevisedPolicy, readCachedPolicy } from "./cached-policy.ts";
import { withCompressHint } from "./compress-hint.ts";
import { DecisionLog } from "./decision-log.ts";
import { cratesIoRulesWith, readEdgeSettings } from "./edge-settings.ts";
import { ENGINE_DECODE_BODY, ENGINE_INDEX_SCAN, ENGINE_PLAIN_LINES } from "./engine-index-scan.ts";
import { keptScans } from "./kept-scans.ts";
import { kvFreshness } from "./kv-freshness.ts";
import { kvPublishTimes } from "./kv-publish-times.ts";
import { ServerTiming } from "./server-timing.ts";
import { EDGE_SERVICE } from "./service-info.ts";

export interface EdgeHandlerOptions {
  /** Compute's global `fetch` unless a test passes its own. */
  readonly fetch?: BackendFetch;
  readonly clock?: Clock;
}

/**
 * What the handler may ask of the request's event besides its answer: `afterAnswer` runs work after the answer has
 * been sent, keeping the request alive until it is done (answer-cache.ts stores new answers so).
 */
export interface RequestLifetime {
  readonly afterAnswer?: AfterAnswer;
}

export type EdgeHandler = (request: Request, lifetime?: RequestLifetime) => Promise<Response>;

/**
 * The core proxy wired to Fastly: backend + edge cache upstream, KV publish times, policy and freshness, Config Store
 * settings, and filtered answers kept in the Core Cache (answer-cache.ts, Config Store `answer_cache`). Settings and
 * stores are read per request because Compute opens them only while a request is handled (the handler itself is
 * created at build time); the policy comes through the Core Cache (cached-policy.ts), read only when needed, so a
 * request answered from the answer cache does no KV lookup at all, and mostly no lookup but its answer's. With Config
 * Store `log_endpoint` set, each request for a filtered file writes a line to the decision log (decision-log.ts), which
 * the closures below tell what happened. Assembling the core proxy is a few closures.
 */
export function createEdgeHandler(options: EdgeHandlerOptions = {}): EdgeHandler {
  const clock = options.clock ?? systemClock;
  return async (request, lifetime = {}) => {
    const afterAnswer = lifetime.afterAnswer ?? AT_ONCE;
    const settings = readEdgeSettings();
    const serverTiming = settings.serverTiming ? new ServerTiming() : undefined;
    const log = DecisionLog.start(request, settings, clock);
    // Read at most once per request, and not at all for a hit the answer cache knows stands without it.
    let policyRead: Promise<RevisedPolicy> | undefined;
    const revisedPolicy = () => {
      policyRead ??= readCachedPolicy(clock);
      return policyRead;
    };
    // The headers of the upstream copy this request's answer is made from: the answer cache keeps the answer no longer
    // than that copy may be used.
    let upstreamCopy: Headers | null = null;
    const backend = backendUpstream({ maxTtlSeconds: settings.upstreamMaxTtlSeconds, fetch: options.fetch });
    const upstream: Upstream = {
      async fetch(path, headers) {
        const response = await backend.fetch(path, headers);
        upstreamCopy = response.headers;
        log?.upstreamAnswered(response.status);
        return response;
      },
    };
    const scanCache = settings.scanCache ? keptScans(afterAnswer) : undefined;
    const proxy = async (forward: Request) => {
      log?.computing();
      let policy: Awaited<ReturnType<RevisedPolicy["policy"]>>;
      try {
        policy = await (await revisedPolicy()).policy();
      } catch (error) {
        return policyUnavailable(error);
      }
      return createCooldownProxy({
        upstream,
        publishTimes: kvPublishTimes(),
        rules: applyPolicy(cratesIoRulesWith(settings), policy),
        freshness: kvFreshness(),
        service: EDGE_SERVICE,
        clock,
        scan: ENGINE_INDEX_SCAN,
        decodeBody: ENGINE_DECODE_BODY,
        ...(settings.plainLines ? { plainLines: ENGINE_PLAIN_LINES } : {}),
        ...(scanCache === undefined ? {} : { scanCache: log === null ? scanCache : log.watchScans(scanCache) }),
        ...(serverTiming === undefined ? {} : { timings: serverTiming }),
        ...(log === null ? {} : { onFiltered: log.filtered }),
      })(forward);
    };
    const answer = settings.answerCache
      ? cachedAnswers(proxy, {
          policy: revisedPolicy,
          settingsTag: `i${settings.prePubtimeInference ? 1 : 0}t${settings.upstreamMaxTtlSeconds}`,
          upstreamMaxTtlSeconds: settings.upstreamMaxTtlSeconds,
          upstreamCopy: () => upstreamCopy,
          clock,
          afterAnswer,
        })
      : proxy;
    const answered = await answer(request);
    log?.write(answered);
    return withCompressHint(serverTiming === undefined ? answered : serverTiming.applyTo(answered));
  };
}

/** Fail closed and loudly: without the operator's policy, nothing can be decided as they meant it. */
function policyUnavailable(error: unknown): Response {
  const message = error instanceof Error ? error.message : String(error);
  return withCompressHint(plainText(503, `policy unavailable: ${message}`, { "retry-after": RETRY_AFTER_SECONDS }));
}
