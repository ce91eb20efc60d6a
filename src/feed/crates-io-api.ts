import type { UnixSeconds } from "../core/time.ts";
import type { PublishVia } from "../core/trust-signals.ts";
import { TRUSTED_PUBLISHING_SINCE } from "../store/trust-data.ts";

/** crates.io's web API; its crawler policy: at most one request a second, a User-Agent naming the tool and a contact. */
export const DEFAULT_API_BASE = "https://crates.io";
export const API_MIN_INTERVAL_MS = 1_000;

/** One version as `GET /api/v1/crates/{name}/versions` lists it, reduced to what the trust signals need. */
export interface ApiVersion {
  readonly num: string;
  readonly createdAt: UnixSeconds;
  readonly via: Exclude<PublishVia, null>;
  readonly publisherId: number | null;
  readonly publisher: string | null;
  /** `github: owner/repo` for a trusted-publishing release whose `trustpub_data` says so. */
  readonly trustedSource: string | null;
}

/** A body that is not what crates.io answers: the message says what was wrong. */
export class ApiFormatError extends Error {
  override readonly name = "ApiFormatError";
}

/**
 * `{"versions":[…],"meta":{"total":…,"next_page":"?…"|null}}`. A version's `published_by` is the publishing account
 * (`{id, login, …}`) or null; `trustpub_data` (`{provider, repository, run_id, sha}`) is set for a release published
 * through trusted publishing. Both null: trusted publishing before crates.io stored its data, or a version from before
 * crates.io recorded publishers — told apart by its time, as for the dump.
 */
export function parseVersionsPage(text: string): { versions: ApiVersion[]; nextPage: string | null } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ApiFormatError("the body is not JSON");
  }
  const { versions, meta } = (parsed ?? {}) as { versions?: unknown; meta?: { next_page?: unknown } };
  if (!Array.isArray(versions)) throw new ApiFormatError('the body has no "versions" list');
  const nextPage = meta?.next_page;
  if (nextPage !== undefined && nextPage !== null && typeof nextPage !== "string")
    throw new ApiFormatError('"meta.next_page" is neither a string nor null');
  return { versions: versions.map(parseApiVersion), nextPage: typeof nextPage === "string" ? nextPage : null };
}

export function parseApiVersion(value: unknown): ApiVersion {
  const v = (value ?? {}) as Record<string, unknown>;
  if (typeof v.num !== "string" || v.num === "") throw new ApiFormatError('a version has no "num"');
  const createdAt = typeof v.created_at === "string" ? Date.parse(v.created_at) : Number.NaN;
  if (Number.isNaN(createdAt)) throw new ApiFormatError(`version ${v.num} has no RFC 3339 "created_at"`);
  const at = Math.floor(createdAt / 1000);
  const by = v.published_by as { id?: unknown; login?: unknown } | null | undefined;
  if (by !== null && by !== undefined) {
    if (typeof by.id !== "number" || typeof by.login !== "string")
      throw new ApiFormatError(`version ${v.num}: "published_by" has no id and login`);
    return { num: v.num, createdAt: at, via: "token", publisherId: by.id, publisher: by.login, trustedSource: null };
  }
  const trustpub = v.trustpub_data as { provider?: unknown; repository?: unknown } | null | undefined;
  if (trustpub !== null && trustpub !== undefined) {
    if (typeof trustpub.provider !== "string")
      throw new ApiFormatError(`version ${v.num}: "trustpub_data" has no provider`);
    const source =
      typeof trustpub.repository === "string" ? `${trustpub.provider}: ${trustpub.repository}` : trustpub.provider;
    return {
      num: v.num,
      createdAt: at,
      via: "trusted-publishing",
      publisherId: null,
      publisher: null,
      trustedSource: source,
    };
  }
  return {
    num: v.num,
    createdAt: at,
    via: at >= TRUSTED_PUBLISHING_SINCE ? "trusted-publishing" : "no-account",
    publisherId: null,
    publisher: null,
    trustedSource: null,
  };
}
