import { readFileSync } from "node:fs";

/** This build's version, from package.json: shown by `--version` and `/-/status`. */
export const PACKAGE_VERSION: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;
