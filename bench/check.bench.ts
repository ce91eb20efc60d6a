/**
 * `crates-cooldown check` on a 400-package lockfile against the fake crates.io on loopback, as a user runs it (the
 * CLI process, startup included). Side by side in one run: the default concurrency vs one fetch at a time (the naive
 * way), alternating, medians. Target: under 2 s.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CliProcess } from "../test/server/cli-process.ts";
import { daysAgo, startFakeCratesIo } from "../test/support/fake-crates-io.ts";
import { median } from "./support/median.ts";
import { printBenchSummary } from "./support/summary.ts";

const PACKAGES = 400;
const ROUNDS = 5;

const scratch = mkdtempSync(join(tmpdir(), "cooldown-check-bench-"));
const fake = await startFakeCratesIo({ timeoutMs: 600_000, maxRequests: 100_000 });
try {
  const pins: string[] = [];
  for (let i = 0; i < PACKAGES; i++) {
    const name = `crate${String(i).padStart(3, "0")}`;
    // 20 versions each, the pinned one old enough for every window but the newest ones too young.
    for (let v = 0; v < 20; v++) await fake.publish({ name, vers: `1.${v}.0`, pubtime: daysAgo(40 - v * 2) });
    pins.push(
      `\n[[package]]\nname = "${name}"\nversion = "1.${i % 15}.0"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n`,
    );
  }
  const lockPath = join(scratch, "Cargo.lock");
  writeFileSync(lockPath, `version = 4\n${pins.join("")}`);
  const dbPath = join(scratch, "timestamps.sqlite");

  const run = async (concurrency: number) => {
    const started = performance.now();
    const cli = CliProcess.run([
      "check",
      lockPath,
      "--window",
      "7d",
      "--upstream",
      fake.url,
      "--db",
      dbPath,
      "--concurrency",
      String(concurrency),
    ]);
    const { code } = await cli.exited;
    if (code !== 0) throw new Error(`check exited ${code}: ${cli.stderr}${cli.stdout.slice(-500)}`);
    return (performance.now() - started) / 1000;
  };
  const ours: number[] = [];
  const naive: number[] = [];
  await run(16); // warm the file cache and the fake
  for (let round = 0; round < ROUNDS; round++) {
    ours.push(await run(16));
    naive.push(await run(1));
  }
  const oursMedian = median(ours);
  const naiveMedian = median(naive);
  console.log(
    `check, ${PACKAGES} pins: default concurrency ${oursMedian.toFixed(2)} s, one at a time ${naiveMedian.toFixed(2)} s (medians of ${ROUNDS})`,
  );
  printBenchSummary({
    bench: "check",
    figures: [
      {
        figure: `check of a ${PACKAGES}-package lockfile (CLI, loopback)`,
        value: `${oursMedian.toFixed(2)} s`,
        target: "< 2 s",
        met: oursMedian < 2,
      },
      {
        figure: "one fetch at a time, same run",
        value: `${naiveMedian.toFixed(2)} s (${(naiveMedian / oursMedian).toFixed(1)}× slower)`,
      },
    ],
  });
} finally {
  await fake.close();
  rmSync(scratch, { recursive: true, force: true });
}
