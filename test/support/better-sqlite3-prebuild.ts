import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { pack } from "tar-stream";

const CHECKOUT_MODULE = fileURLToPath(new URL("../../node_modules/better-sqlite3/", import.meta.url));

/**
 * The environment that lets an `npm install` in a test find a prebuilt better-sqlite3 in `dir`, as prebuild-install
 * would download one from GitHub: the checkout's own compiled addon (same version, same Node ABI, same platform),
 * packed the way better-sqlite3's release assets are and named the way prebuild-install looks for a local prebuild
 * (`npm_config_better_sqlite3_local_prebuilds`). better-sqlite3's install script still runs, for real; it only skips
 * the 1–2 minutes of compiling SQLite, which GitHub being unreachable would otherwise cost. An install resolving another
 * version (or a musl platform, whose asset name differs) finds no match here and compiles from source, as a user's would.
 */
export async function localBetterSqlite3Prebuild(dir: string): Promise<NodeJS.ProcessEnv> {
  const { version } = JSON.parse(readFileSync(join(CHECKOUT_MODULE, "package.json"), "utf8")) as { version: string };
  const addon = readFileSync(join(CHECKOUT_MODULE, "build/Release/better_sqlite3.node"));
  const tar = pack();
  tar.entry({ name: "build/Release/better_sqlite3.node", mode: 0o755 }, addon);
  tar.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of tar) chunks.push(chunk as Buffer);
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  writeFileSync(join(dir, name), gzipSync(Buffer.concat(chunks)));
  return { npm_config_better_sqlite3_local_prebuilds: dir };
}
