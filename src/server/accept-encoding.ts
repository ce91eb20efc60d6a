/** The content codings this home compresses responses with. */
export type ContentCoding = "br" | "gzip";

/** On equal preference br wins: smaller than gzip at a similar cost at the quality used here. */
const SUPPORTED_CODINGS: readonly ContentCoding[] = ["br", "gzip"];

/**
 * The coding to answer with, from a client's Accept-Encoding (RFC 9110 §12.5.3): the supported coding with the
 * highest q-value above 0, counting `*` for codings not named and `x-gzip` as gzip; `null` means identity.
 */
export function negotiateContentCoding(acceptEncoding: string | null): ContentCoding | null {
  if (acceptEncoding === null) return null;
  const weights = new Map<string, number>();
  for (const part of acceptEncoding.split(",")) {
    const [name = "", ...parameters] = part.split(";");
    const coding = name.trim().toLowerCase();
    if (coding !== "") weights.set(coding, qValueOf(parameters));
  }
  let best: ContentCoding | null = null;
  let bestWeight = 0;
  for (const coding of SUPPORTED_CODINGS) {
    const weight =
      weights.get(coding) ?? (coding === "gzip" ? weights.get("x-gzip") : undefined) ?? weights.get("*") ?? 0;
    if (weight > bestWeight) {
      best = coding;
      bestWeight = weight;
    }
  }
  return best;
}

function qValueOf(parameters: readonly string[]): number {
  for (const parameter of parameters) {
    const [key = "", value = ""] = parameter.split("=", 2);
    if (key.trim().toLowerCase() !== "q") continue;
    const q = Number(value.trim());
    // A malformed weight is treated as "not acceptable": never send a coding the client may not read.
    return Number.isFinite(q) && q >= 0 && q <= 1 && value.trim() !== "" ? q : 0;
  }
  return 1;
}
