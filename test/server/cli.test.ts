import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FixtureUpstream } from "../support/fixture-upstream.ts";
import { CliProcess } from "./cli-process.ts";
import { send, testClient } from "./http-client.ts";
import { DAY, indexFile, nowSeconds, versionsIn } from "./index-lines.ts";

let upstream: FixtureUpstream;
let directory: string;
const processes: CliProcess[] = [];

beforeAll(async () => {
  upstream = await FixtureUpstream.start();
  const now = nowSeconds();
  upstream.set("/se/rd/serde", {
    body: indexFile("serde", [
      { vers: "1.0.0", publishedAt: now - 30 * DAY },
      { vers: "1.0.1", publishedAt: now - 2 * DAY },
    ]),
  });
  directory = mkdtempSync(join(tmpdir(), "cooldown-cli-"));
});

afterEach(async () => {
  await Promise.all(processes.splice(0).map((process) => process.stop()));
});

afterAll(async () => {
  await testClient.close();
  await upstream.close();
  rmSync(directory, { recursive: true, force: true });
});

function cli(...args: string[]): CliProcess {
  const process = CliProcess.run(args);
  processes.push(process);
  return process;
}

function serve(...extra: string[]): CliProcess {
  return cli(
    "serve",
    "--listen",
    "127.0.0.1:0",
    "--db",
    join(directory, "timestamps.sqlite"),
    "--upstream",
    upstream.url,
    ...extra,
  );
}

describe("crates-cooldown serve", () => {
  it("prints exactly one line, `listening on http://HOST:PORT/`, once it serves on a free port", async () => {
    const server = serve("--quiet");
    const line = await server.firstLine();
    expect(line).toMatch(/^listening on http:\/\/127\.0\.0\.1:\d+\/$/);
    const url = line.slice("listening on ".length);
    const answer = await send(`${url}7d/se/rd/serde`);
    expect(versionsIn(answer.body.toString())).toEqual(["1.0.0"]);
    expect(server.stdout).toBe(`${line}\n`);
  });

  it("shuts down cleanly on SIGTERM: stops serving and exits 0", async () => {
    const server = serve();
    const url = (await server.firstLine()).slice("listening on ".length);
    await send(`${url}7d/se/rd/serde`);
    server.child.kill("SIGTERM");
    expect(await server.exited).toEqual({ code: 0, signal: null });
    await expect(send(`${url}7d/se/rd/serde`)).rejects.toThrow();
    expect(server.stderr).toMatch(/^GET \/7d\/se\/rd\/serde 200 [\d.]+ms\n$/);
  });

  it("shuts down cleanly on SIGINT", async () => {
    const server = serve();
    await server.firstLine();
    server.child.kill("SIGINT");
    expect(await server.exited).toEqual({ code: 0, signal: null });
  });

  it("refuses a bad --listen with one line on stderr and a non-zero exit", async () => {
    const server = cli("serve", "--listen", "localhost", "--db", join(directory, "bad-listen.sqlite"));
    const { code } = await server.exited;
    expect(code).not.toBe(0);
    expect(server.stderr).toMatch(/^error: --listen "localhost" is not HOST:PORT[^\n]*\n$/);
    expect(server.stdout).toBe("");
  });

  it("refuses a bad --upstream URL with one line on stderr and a non-zero exit", async () => {
    const server = cli("serve", "--upstream", "index.crates.io", "--db", join(directory, "bad-upstream.sqlite"));
    expect((await server.exited).code).not.toBe(0);
    expect(server.stderr).toMatch(/^error: --upstream "index\.crates\.io" is not a URL[^\n]*\n$/);
  });

  it("refuses a database it cannot open with one line on stderr and a non-zero exit", async () => {
    const notADatabase = join(directory, "not-a-database.sqlite");
    writeFileSync(notADatabase, "this is not SQLite, just text long enough to fill a header page".repeat(20));
    const server = cli("serve", "--listen", "127.0.0.1:0", "--db", notADatabase);
    expect((await server.exited).code).not.toBe(0);
    expect(server.stderr).toMatch(/^error: cannot open the timestamp database [^\n]*\n$/);
  });

  it("refuses a database path that is a directory with one line on stderr", async () => {
    const aDirectory = join(directory, "a-directory");
    mkdirSync(aDirectory);
    const server = cli("serve", "--listen", "127.0.0.1:0", "--db", aDirectory);
    expect((await server.exited).code).not.toBe(0);
    expect(server.stderr).toMatch(/^error: cannot open the timestamp database [^\n]*\n$/);
  });

  it("refuses a port already in use with one line on stderr", async () => {
    const port = new URL(upstream.url).port;
    const server = cli("serve", "--listen", `127.0.0.1:${port}`, "--db", join(directory, "in-use.sqlite"));
    expect((await server.exited).code).not.toBe(0);
    expect(server.stderr).toBe(`error: cannot listen on 127.0.0.1:${port} (EADDRINUSE)\n`);
  });

  it("documents every flag in --help", async () => {
    const help = cli("serve", "--help");
    expect((await help.exited).code).toBe(0);
    for (const flag of ["--listen", "--upstream", "--db", "--pre-pubtime-inference", "--upstream-timeout", "--quiet"]) {
      expect(help.stdout).toContain(flag);
    }
  });
});
