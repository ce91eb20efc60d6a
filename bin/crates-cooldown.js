#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), so `npx crates-cooldown` works right after `npm ci`, with no build.
import { register } from "tsx/esm/api";

register();
await import("../src/cli.ts");
