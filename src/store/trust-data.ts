import type Database from "better-sqlite3";
import type { UnixSeconds } from "../core/time.ts";
import {
  type CrateOwnerAddition,
  type CrateTrust,
  computeCrateTrust,
  type PublishVia,
  TRUST_RELEVANCE,
  type VersionProvenance,
} from "../core/trust-signals.ts";
import { META_KEYS } from "./meta-keys.ts";

/**
 * The trust signals' data in the timestamp database: who published each version (columns of `versions`) and who owns
 * each crate (`crate_owners`). Records carry the signals computed from it (core/trust-signals.ts) once a dump with
 * publishers has been applied (`meta` `trust.data_since`); before that, records carry none and no signal is checked.
 *
 * `versions.publish_via`: NULL not known yet (a version learned from the feed), 0 with an account's token
 * (`publisher_id`, its login in `accounts`), 1 trusted publishing (`trusted_source` = `github: owner/repo` when known),
 * 2 no account (from before crates.io recorded publishers).
 */
export const TRUST_DDL = `
  ALTER TABLE versions ADD COLUMN publish_via INTEGER;
  ALTER TABLE versions ADD COLUMN publisher_id INTEGER;
  ALTER TABLE versions ADD COLUMN trusted_source TEXT;
  CREATE TABLE IF NOT EXISTS accounts (
    id INTEGER PRIMARY KEY,           -- crates.io's user id (published_by)
    login TEXT NOT NULL               -- its GitHub login, for evidence
  );
  CREATE TABLE IF NOT EXISTS crate_owners (
    crate TEXT NOT NULL,              -- lowercased crate name
    owner TEXT NOT NULL,              -- a user's login, or a team's (github:org:team)
    added_at INTEGER NOT NULL,        -- Unix seconds
    PRIMARY KEY (crate, owner)
  ) WITHOUT ROWID;
  -- Digests before this schema did not cover publishers and owners: the next dump merges every crate.
  DELETE FROM dump_digests;
`;

/**
 * The dump has no `trustpub_data` (private), but crates.io records the publishing account for every version published
 * with a token, and none for one published through trusted publishing. So a version without `published_by` is taken
 * as published through trusted publishing when it is later than this bound (2025-05-01, before crates.io accepted
 * its first trusted-publishing token), and as from before publishers were recorded otherwise.
 */
export const TRUSTED_PUBLISHING_SINCE: UnixSeconds = Date.UTC(2025, 4, 1) / 1000;

/** The `publish_via` code of a dump row: `publishedBy` is its users.csv id, or -1 when `published_by` is empty. */
export function dumpViaCode(publishedBy: number, publishedAt: UnixSeconds): number {
  if (publishedBy >= 0) return 0;
  return publishedAt >= TRUSTED_PUBLISHING_SINCE ? 1 : 2;
}

/**
 * The persistent queue of crates.io API lookups (api-queue.ts): crates whose history the job should look up between
 * dumps, filled by `ingest feed`, drained by `ingest api`.
 */
export const API_QUEUE_DDL = `
  CREATE TABLE IF NOT EXISTS api_lookups (
    crate TEXT PRIMARY KEY,           -- lowercased crate name
    queued_at INTEGER NOT NULL,       -- Unix seconds: when it was first queued
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before INTEGER NOT NULL,      -- Unix seconds: not tried before then
    last_error TEXT
  ) WITHOUT ROWID;
`;

const VIA_CODES: Record<Exclude<PublishVia, null>, number> = { token: 0, "trusted-publishing": 1, "no-account": 2 };
const VIA_OF_CODE: readonly PublishVia[] = ["token", "trusted-publishing", "no-account"];

export function viaCode(via: PublishVia): number | null {
  return via === null ? null : VIA_CODES[via];
}

export function viaOf(code: number | null): PublishVia {
  return code === null ? null : (VIA_OF_CODE[code] ?? null);
}

/** `[version, published_at, publish_via, publisher_id, publisher, trusted_source]` */
export type ProvenanceRow = [string, UnixSeconds, number | null, number | null, string | null, string | null];

/**
 * A crate's versions with who published them, in `ProvenanceRow` order (logins joined from `accounts`), in publish
 * order (see `PACKED_VERSIONS`); needs the crate as the one parameter.
 */
export const SELECT_PROVENANCE = `SELECT v.version, v.published_at, v.publish_via, v.publisher_id,
  (SELECT login FROM accounts a WHERE a.id = v.publisher_id), v.trusted_source FROM versions v WHERE v.crate = ?
  ORDER BY v.published_at, v.version`;

/** Whether records carry trust data: a dump with publishers has been applied. */
export function hasTrustData(getMeta: (key: string) => string | null): boolean {
  return getMeta(META_KEYS.trustDataSince) !== null;
}

/** Reads a crate's owners: prepared once per connection. */
export function ownersReader(db: Database.Database): (crate: string) => CrateOwnerAddition[] {
  const select = db
    .prepare<[string], [string, number]>("SELECT owner, added_at FROM crate_owners WHERE crate = ? ORDER BY owner")
    .raw();
  return (crate) => select.all(crate).map(([owner, addedAt]) => ({ owner, addedAt }));
}

/**
 * The trust section of a crate's record from its rows. Owners count as known once any version's publisher is (the
 * crate was in a dump, which lists every crate's owners, possibly none).
 */
export function crateTrustOf(
  rows: readonly ProvenanceRow[],
  owners: readonly CrateOwnerAddition[],
  now: UnixSeconds = Math.floor(Date.now() / 1000),
): CrateTrust {
  const versions: VersionProvenance[] = rows.map(([version, publishedAt, via, publisherId, publisher, source]) => ({
    version,
    publishedAt,
    via: viaOf(via),
    publisherId,
    publisher: publisher ?? (publisherId === null ? null : `#${publisherId}`),
    trustedSource: source,
  }));
  const ownersKnown = versions.some((v) => v.via !== null);
  return computeCrateTrust(versions, ownersKnown ? owners : null, now - TRUST_RELEVANCE);
}
