import { crateNameProblem, type IndexTarget, indexPathFor, parseIndexPath } from "./index-path.ts";
import { type CooldownWindow, isPassThrough, parseWindow } from "./window.ts";

/** What a request asks for. */
export type Route =
  | { kind: "index"; window: CooldownWindow; target: IndexTarget }
  | { kind: "explain"; window: CooldownWindow; name: string; path: string }
  | { kind: "status" };

export type RouteParse = { ok: true; route: Route } | { ok: false; message: string };

const EXPLAIN = "-/explain/";
export const PASS_THROUGH_EXPLAINED =
  "/0d/ passes every version through untouched; there is nothing to explain (try /7d/)";
const USAGE =
  "expected /<window>/<index path> (e.g. /7d/se/rd/serde, /7d/config.json), /<window>/-/explain/<crate> or /-/status";

/**
 * Parses the URL path. The pathname is the URL's, so dot-segments (`..`, `%2e%2e`) were already resolved by URL
 * parsing (RFC 3986 §5.2.4) and can never leave the index; encoded slashes stay encoded and fail the name check.
 */
export function parseRoute(pathname: string): RouteParse {
  if (pathname === "/-/status") return { ok: true, route: { kind: "status" } };
  const slash = pathname.indexOf("/", 1);
  if (!pathname.startsWith("/") || slash === -1) return { ok: false, message: USAGE };
  const window = parseWindow(pathname.slice(1, slash));
  if (!window.ok) return window;
  const rest = pathname.slice(slash + 1);
  if (rest.startsWith(EXPLAIN)) {
    if (isPassThrough(window.window)) return { ok: false, message: PASS_THROUGH_EXPLAINED };
    // People type names as they know them (`Serde`); the index and the database use the lowercased name.
    const name = rest.slice(EXPLAIN.length).toLowerCase();
    const problem = crateNameProblem(name);
    if (problem !== null) return { ok: false, message: problem };
    return { ok: true, route: { kind: "explain", window: window.window, name, path: indexPathFor(name) } };
  }
  const target = parseIndexPath(rest);
  if (!target.ok) return target;
  return { ok: true, route: { kind: "index", window: window.window, target: target.target } };
}
