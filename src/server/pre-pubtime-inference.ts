import { defaultRules, type VisibilityRules } from "../core/policy.ts";
import { isCratesIoIndex } from "./upstream-url.ts";

/** `auto` infers only for crates.io itself, whose index files are known to gain `pubtime` on every rewrite. */
export const PRE_PUBTIME_INFERENCE_MODES = ["auto", "on", "off"] as const;
export type PrePubtimeInferenceMode = (typeof PRE_PUBTIME_INFERENCE_MODES)[number];

export function visibilityRulesFor(mode: PrePubtimeInferenceMode, upstream: URL): VisibilityRules {
  return defaultRules(mode === "on" || (mode === "auto" && isCratesIoIndex(upstream)));
}
