import type { Clock, PublishTimes, Upstream } from "../../src/core/ports.ts";
import type { CrateRecord } from "../../src/core/publish-times.ts";
import type { UnixSeconds } from "../../src/core/time.ts";
import type { CrateTrust } from "../../src/core/trust-signals.ts";

/** What an in-memory upstream answers for one path. */
export interface UpstreamFile {
  status?: number;
  body?: string | Uint8Array<ArrayBuffer>;
  headers?: Record<string, string>;
}

/** An upstream held in a map; records every request so tests can see what reached it. */
export class InMemoryUpstream implements Upstream {
  readonly files = new Map<string, UpstreamFile | (() => Promise<Response>)>();
  readonly requests: { path: string; headers: Headers }[] = [];

  set(path: string, file: UpstreamFile | (() => Promise<Response>)): this {
    this.files.set(path, file);
    return this;
  }

  async fetch(path: string, headers: Headers): Promise<Response> {
    this.requests.push({ path, headers });
    const file = this.files.get(path);
    if (file === undefined) return new Response("not found", { status: 404 });
    if (typeof file === "function") return file();
    return new Response(file.body ?? "", { status: file.status ?? 200, headers: file.headers ?? {} });
  }
}

export class InMemoryPublishTimes implements PublishTimes {
  readonly records = new Map<string, Map<string, UnixSeconds>>();
  /** Trust sections of records (record format 3), by crate. */
  readonly trust = new Map<string, CrateTrust>();
  lookups = 0;
  failWith: Error | null = null;

  set(crate: string, version: string, at: UnixSeconds): this {
    const versions = this.records.get(crate) ?? new Map<string, UnixSeconds>();
    versions.set(version, at);
    this.records.set(crate, versions);
    return this;
  }

  async lookup(crate: string): Promise<CrateRecord | null> {
    this.lookups++;
    if (this.failWith !== null) throw this.failWith;
    const versions = this.records.get(crate);
    if (versions === undefined) return null;
    const trust = this.trust.get(crate);
    return trust === undefined ? { crate, versions } : { crate, versions, trust };
  }
}

export class FixedClock implements Clock {
  constructor(public at: UnixSeconds) {}
  now(): UnixSeconds {
    return this.at;
  }
}

export const DAY = 86_400;
export const HOUR = 3_600;

/** An index line in crates.io's field order. `pubtime` is written only when given. */
export function indexLine(fields: {
  name: string;
  vers: string;
  yanked?: boolean;
  pubtime?: UnixSeconds | string;
  deps?: unknown[];
  features?: Record<string, string[]>;
}): string {
  const pubtime =
    fields.pubtime === undefined
      ? ""
      : `,"pubtime":${JSON.stringify(typeof fields.pubtime === "string" ? fields.pubtime : new Date(fields.pubtime * 1000).toISOString().replace(".000Z", "Z"))}`;
  return (
    `{"name":${JSON.stringify(fields.name)},"vers":${JSON.stringify(fields.vers)},"deps":${JSON.stringify(fields.deps ?? [])},` +
    `"cksum":"${"0".repeat(64)}","features":${JSON.stringify(fields.features ?? {})},"yanked":${fields.yanked ?? false}${pubtime},"v":2}\n`
  );
}
