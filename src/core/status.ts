import { type Freshness, staleness } from "./freshness.ts";
import type { VisibilityRules } from "./policy.ts";
import { describeExceptions } from "./policy-document.ts";
import { formatRfc3339, type UnixSeconds } from "./time.ts";
import { ACCEPTED_WINDOWS, MAX_WINDOW_DAYS, MAX_WINDOW_HOURS } from "./window.ts";

/** Which build and home answers; set by the home. */
export interface ServiceInfo {
  readonly version: string;
  readonly home: "edge" | "node";
}

const iso = (at: UnixSeconds | null) => (at === null ? null : formatRfc3339(at));

/** The body of `GET /-/status`. */
export function buildStatus(service: ServiceInfo, rules: VisibilityRules, freshness: Freshness, now: UnixSeconds) {
  const stale = staleness(freshness, now);
  return {
    service: "crates-cooldown",
    version: service.version,
    home: service.home,
    now: formatRfc3339(now),
    windows: { days: `0…${MAX_WINDOW_DAYS}`, hours: `1…${MAX_WINDOW_HOURS}`, accepted: ACCEPTED_WINDOWS },
    rules: {
      yanked: rules.yanked,
      unknown_publish_time: rules.unknownPublishTime,
      security_fix_admission: { enabled: rules.securityFixes.enabled, floor_seconds: rules.securityFixes.floor },
      exceptions: describeExceptions(rules.exceptions, now),
      trust: rules.trust.enabled
        ? {
            enabled: true,
            extra_wait_seconds: { ...rules.trust.extraWait },
            unknown_trust_data: rules.trust.unknownData,
          }
        : {
            enabled: false,
            note: "the upstream is not crates.io: other registries publish no publisher or owner data, so no trust signal applies",
          },
      pre_pubtime_inference: {
        enabled: rules.prePubtimeInference.enabled,
        switched_on_by: formatRfc3339(rules.prePubtimeInference.switchedOnBy),
      },
    },
    data: {
      dump_watermark: iso(freshness.dumpWatermark),
      last_feed_poll: iso(freshness.lastFeedPoll),
      last_kv_push: iso(freshness.lastKvPush),
      feed_gap:
        freshness.feedGap === null ? null : { from: iso(freshness.feedGap.from), to: iso(freshness.feedGap.to) },
      ...(freshness.apiLookups === undefined
        ? {}
        : { api_lookups: { backlog: freshness.apiLookups.backlog, oldest: iso(freshness.apiLookups.oldest) } }),
      stale: stale.length > 0,
      problems: stale,
    },
  };
}
