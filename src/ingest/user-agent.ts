import { readFileSync } from "node:fs";
import { PACKAGE_VERSION } from "../package-version.ts";

/** Where crates.io's operators can find out who is calling; package.json's `homepage` wins when it is set. */
const FALLBACK_HOMEPAGE = "https://github.com/crates-cooldown/crates-cooldown";

/**
 * The `User-Agent` of every request the ingest job makes: crates.io asks for one naming the application and a
 * contact (requests without one get 403), e.g. `crates-cooldown/0.1.0 (+https://github.com/…)`.
 */
export const INGEST_USER_AGENT = `crates-cooldown/${PACKAGE_VERSION} (+${projectHomepage()})`;

function projectHomepage(): string {
  try {
    const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      homepage?: unknown;
      repository?: unknown;
    };
    if (typeof manifest.homepage === "string" && /^https?:\/\//.test(manifest.homepage)) return manifest.homepage;
    const repository = typeof manifest.repository === "object" && manifest.repository !== null ? (manifest.repository as { url?: unknown }).url : manifest.repository;
    if (typeof repository === "string" && /^(git\+)?https?:\/\//.test(repository)) return repository.replace(/^git\+/, "").replace(/\.git$/, "");
  } catch {
    // The fallback below is as good a contact as any.
  }
  return FALLBACK_HOMEPAGE;
}
