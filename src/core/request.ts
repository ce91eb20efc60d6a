import { parseIndexPath, type IndexTarget } from "./index-path.ts";
import { parseWindow, type CooldownWindow } from "./window.ts";

/** A request the proxy understood: a window and what it asks for. */
export interface IndexRequest {
  readonly window: CooldownWindow;
  readonly target: IndexTarget;
}

export type IndexRequestParse = { ok: true; request: IndexRequest } | { ok: false; message: string };

/**
 * Parses `/<window>/<index path>`. The pathname is the URL's, so dot-segments (`..`, `%2e%2e`) were already resolved
 * by URL parsing (RFC 3986 §5.2.4) and can never leave the index; encoded slashes stay encoded and fail the name check.
 */
export function parseIndexRequest(pathname: string): IndexRequestParse {
  const slash = pathname.indexOf("/", 1);
  if (!pathname.startsWith("/") || slash === -1) {
    return { ok: false, message: "expected /<window>/<index path>, e.g. /7d/se/rd/serde or /7d/config.json" };
  }
  const window = parseWindow(pathname.slice(1, slash));
  if (!window.ok) return window;
  const target = parseIndexPath(pathname.slice(slash + 1));
  if (!target.ok) return target;
  return { ok: true, request: { window: window.window, target: target.target } };
}
