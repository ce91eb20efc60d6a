/** Test double for `fastly:cache-override`: keeps what the adapter configured so tests can run its hooks by hand. */
export interface CacheCandidateDouble {
  readonly headers: Headers;
  ttl: number | undefined;
  swr: number | undefined;
}

export interface CacheOptions {
  cache?: boolean | "uncacheable";
}

export type CacheOverrideMode = "none" | "pass" | "override";

export interface ICacheOverride {
  ttl?: number;
  swr?: number;
  surrogateKey?: string;
  pci?: boolean;
  afterSend?: (response: CacheCandidateDouble) => undefined | CacheOptions | PromiseLike<undefined | CacheOptions>;
}

export class CacheOverride {
  mode: CacheOverrideMode;
  ttl?: number;
  swr?: number;
  afterSend?: ICacheOverride["afterSend"];
  constructor(modeOrInit?: CacheOverrideMode | ICacheOverride, init?: ICacheOverride) {
    const options = typeof modeOrInit === "object" ? modeOrInit : (init ?? {});
    this.mode = typeof modeOrInit === "string" ? modeOrInit : "override";
    this.ttl = options.ttl;
    this.swr = options.swr;
    this.afterSend = options.afterSend;
  }
}
