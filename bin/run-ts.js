#!/usr/bin/env node
// `node bin/run-ts.js some/file.ts args…`: runs a TypeScript file through tsx, as bin/crates-cooldown.js does.
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { register } from "tsx/esm/api";

const file = process.argv[2];
if (file === undefined) {
  process.stderr.write("usage: node bin/run-ts.js <file.ts> [args…]\n");
  process.exit(2);
}
process.argv.splice(1, 1);
register();
await import(pathToFileURL(resolve(file)).href);
