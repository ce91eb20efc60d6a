import { type IndexScanOptions, type ScannedIndexFile, scanIndexFile } from "../../src/core/index-file.ts";
import { type FilteredIndexFile, filterIndexFile } from "../../src/core/index-filter.ts";
import { defaultRules, type VisibilityRules } from "../../src/core/policy.ts";
import { applyPolicy, decodePolicy } from "../../src/core/policy-document.ts";
import { decodeCrateRecord } from "../../src/core/publish-times.ts";
import type { EngineVector } from "./engine-vector.ts";

/**
 * One way to run the core on a vector, shared by Node (expectations) and the engine (checks), so both call alike. Both
 * sides pass the edge's scan options: the self-test proves the engine computes what Node computes with the same code.
 * (The ways of scanning are held to JSON.parse, and so to each other, by the conformance test.)
 */
export function decideVector(
  vector: Omit<EngineVector, "expected">,
  scan: IndexScanOptions,
): { file: ScannedIndexFile; filtered: FilteredIndexFile } {
  const file = scanIndexFile(vector.text, scan);
  const record = vector.record === null ? null : decodeCrateRecord(vector.record);
  const filtered = filterIndexFile(vector.crate, file, record, vector.window, vector.now, rulesFor(vector));
  return { file, filtered };
}

/** crates.io's rules with the vector's inference switch, and its policy decoded from the KV format as the edge does. */
export function rulesFor(vector: Pick<EngineVector, "prePubtimeInference" | "policy">): VisibilityRules {
  const cratesIo = defaultRules(true);
  const rules = {
    ...cratesIo,
    prePubtimeInference: { ...cratesIo.prePubtimeInference, enabled: vector.prePubtimeInference },
  };
  return vector.policy === null ? rules : applyPolicy(rules, decodePolicy(vector.policy));
}

export function reasonsOf(filtered: FilteredIndexFile): string[] {
  return filtered.verdicts.map((verdict) => (verdict.visible ? "visible" : verdict.reason));
}

/** The scan as JSON, without the text it points into. */
export function scanJson(file: ScannedIndexFile): string {
  return JSON.stringify(file, (key, value: unknown) => (key === "text" ? undefined : value));
}

/** The filter result as JSON, without the body (compared on its own, or by hash for big files). */
export function filterJson(filtered: FilteredIndexFile): string {
  return JSON.stringify(filtered, (key, value: unknown) => (key === "body" ? undefined : value));
}
