import { type CooldownWindow, parseWindow } from "../../src/core/window.ts";

/** The window a label such as `7d` names; a label the proxy would refuse fails the test at once, with its message. */
export function windowOf(label: string): CooldownWindow {
  const parsed = parseWindow(label);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.window;
}
