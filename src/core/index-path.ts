import { printable } from "./window.ts";

/** What an index path names: the registry's `config.json`, or one crate's index file. */
export type IndexTarget = { kind: "config" } | { kind: "crate"; name: string; path: string };

export type IndexPathParse = { ok: true; target: IndexTarget } | { ok: false; message: string };

/** Where crates.io serves its sparse index: the default upstream, and the origin whose files follow crates.io's rules. */
export const CRATES_IO_INDEX_ORIGIN = "https://index.crates.io";

export const MAX_CRATE_NAME_LENGTH = 64;

// crates.io names: ASCII letter first, then letters, digits, `-`, `_`. The index uses the lowercased name.
const CRATE_NAME = /^[a-z][a-z0-9_-]*$/;

/** The index path cargo requests for a crate (`1/a`, `2/ab`, `3/a/abc`, `se/rd/serde`). */
export function indexPathFor(name: string): string {
  const lower = name.toLowerCase();
  switch (lower.length) {
    case 1:
      return `1/${lower}`;
    case 2:
      return `2/${lower}`;
    case 3:
      return `3/${lower[0]}/${lower}`;
    default:
      return `${lower.slice(0, 2)}/${lower.slice(2, 4)}/${lower}`;
  }
}

/** Checks a name as it may appear in an index path (lowercase). Returns a reason when it is not one. */
export function crateNameProblem(name: string): string | null {
  if (name.length === 0) return "empty crate name";
  if (name.length > MAX_CRATE_NAME_LENGTH) return `crate name longer than ${MAX_CRATE_NAME_LENGTH} characters`;
  if (!CRATE_NAME.test(name)) {
    return `"${printable(name)}" is not a lowercase crate name (a letter, then letters, digits, "-" or "_")`;
  }
  return null;
}

/**
 * Parses the part of the URL after the window. Only paths cargo itself would request are accepted; everything else
 * is refused here so that it never reaches the upstream.
 */
export function parseIndexPath(rest: string): IndexPathParse {
  if (rest === "config.json") return { ok: true, target: { kind: "config" } };
  if (rest === "")
    return { ok: false, message: "empty index path; expected config.json or an index file such as se/rd/serde" };
  const segments = rest.split("/");
  const name = segments[segments.length - 1] as string;
  const problem = crateNameProblem(name);
  if (problem !== null) return { ok: false, message: `${problem} in index path "${printable(rest)}"` };
  const expected = indexPathFor(name);
  if (rest !== expected) {
    return {
      ok: false,
      message: `index path "${printable(rest)}" does not match crate "${name}"; cargo requests ${expected}`,
    };
  }
  return { ok: true, target: { kind: "crate", name, path: expected } };
}
