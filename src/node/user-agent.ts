import { PACKAGE_VERSION } from "../package-version.ts";

/** The project and its version: the `User-Agent` of `explain` and `check`, and of the job when no contact is set. */
export const PROJECT_USER_AGENT = `crates-cooldown/${PACKAGE_VERSION}`;

/**
 * The `User-Agent` of every request the ingest job makes. crates.io asks for one naming the application and a way to
 * reach its operator; the operator supplies the contact (a URL or an e-mail address) in CRATES_COOLDOWN_CONTACT, e.g.
 * `crates-cooldown/0.1.0 (+ops@example.com)`. Without it the agent still names the project.
 */
export function ingestUserAgent(contact: string | undefined = process.env.CRATES_COOLDOWN_CONTACT): string {
  const trimmed = contact?.trim() ?? "";
  // One header line: a contact with control characters is dropped rather than sent.
  return trimmed === "" || /[\u0000-\u001f\u007f]/.test(trimmed)
    ? PROJECT_USER_AGENT
    : `${PROJECT_USER_AGENT} (+${trimmed})`;
}

export const INGEST_USER_AGENT = ingestUserAgent();
