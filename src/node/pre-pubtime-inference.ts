import { defaultRules, type VisibilityRules } from "../core/policy.ts";
import { applyPolicy, type Policy } from "../core/policy-document.ts";
import { isCratesIoIndex } from "./upstream-url.ts";

/** `auto` infers only for crates.io itself, whose index files are known to gain `pubtime` on every rewrite. */
export const PRE_PUBTIME_INFERENCE_MODES = ["auto", "on", "off"] as const;
export type PrePubtimeInferenceMode = (typeof PRE_PUBTIME_INFERENCE_MODES)[number];

/** The rules a Node home (server, explain, check) decides by: the inference mode for this upstream, then the policy. */
export function rulesForUpstream(mode: PrePubtimeInferenceMode, upstream: URL, policy?: Policy): VisibilityRules {
  const cratesIo = isCratesIoIndex(upstream);
  const rules = defaultRules(cratesIo, mode === "on" || (mode === "auto" && cratesIo));
  return policy === undefined ? rules : applyPolicy(rules, policy);
}
