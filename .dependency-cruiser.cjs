/**
 * The rooms of src/ and which may import which (docs/architecture.md explains each room). Checked by
 * test/architecture/layering.test.ts as part of `npm test`, and by hand with `npx depcruise src`.
 *
 * From the bottom up; a room imports only rooms below it, never a room beside it on the same level:
 *   core                                  the decision: web-standard APIs only
 *   store                                 the SQLite timestamp database (all the SQL)
 *   node                                  Node-side plumbing shared by serve, inspect and the job
 *   dump, feed, advisories, kv            the sources the job ingests, and the KV push/export
 *   job, server, inspect                  the `ingest` job, the Node home (`serve`), `explain`/`check`
 *   cli.ts                                the command line
 * edge stands beside them all: the Fastly Compute home imports only core, and nothing imports it.
 */

/** Each level's rooms, as folders of src/ (a few lone files of src/ are named with their room). */
const LEVELS = [
  ["core"],
  ["store"],
  ["node"],
  ["dump", "feed", "advisories", "kv"],
  ["job", "server", "inspect"],
  ["cli"],
];

/** A room's files: its folder, or for `node` also src/package-version.ts and for `cli` src/cli.ts. */
const LONE_FILES = { node: ["package-version"], cli: ["cli"] };
const ROOMS = LEVELS.flat();

function roomPath(room) {
  const parts = [];
  if (room !== "cli") parts.push(`^src/${room}/`);
  for (const file of LONE_FILES[room] ?? []) parts.push(`^src/${file}\\.ts$`);
  return parts.join("|");
}

function roomsPath(rooms) {
  return rooms.map(roomPath).join("|");
}

/** For every room: no import of a room on a higher level, nor of another room on its own level. */
const layerRules = LEVELS.flatMap((level, index) =>
  level.map((room) => {
    const higherOrBeside = [...LEVELS.slice(index + 1).flat(), ...level.filter((other) => other !== room)];
    return {
      name: `layering-${room}`,
      comment: `${room} imports only rooms below it (${LEVELS.slice(0, index).flat().join(", ") || "none"}), never ${[...higherOrBeside, "edge"].join(", ")}`,
      severity: "error",
      from: { path: roomPath(room) },
      to: { path: roomsPath([...higherOrBeside, "edge"]) },
    };
  }),
);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "core-imports-no-node",
      comment: "core runs in every home: web-standard APIs only, no node:* module",
      severity: "error",
      from: { path: "^src/core/" },
      to: { dependencyTypes: ["core"] },
    },
    {
      name: "core-imports-no-room",
      comment: "core imports nothing else of the project",
      severity: "error",
      from: { path: "^src/core/" },
      to: { path: "^src/", pathNot: "^src/core/" },
    },
    {
      name: "only-edge-imports-fastly",
      comment: "fastly:* modules exist only inside Compute: only src/edge imports them",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/edge/" },
      to: { path: "^fastly:" },
    },
    {
      name: "edge-imports-only-core",
      comment: "the Fastly Compute home stands beside the Node rooms: it imports core and nothing else of src/",
      severity: "error",
      from: { path: "^src/edge/" },
      to: { path: "^src/", pathNot: "^src/(core|edge)/" },
    },
    {
      name: "only-store-imports-sqlite",
      comment: "SQL lives in src/store: no other room opens SQLite",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/store/" },
      to: { path: "node_modules/better-sqlite3/" },
    },
    {
      name: "src-imports-no-tests",
      comment: "the product never imports its tests or benchmarks",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(test|bench)/" },
    },
    {
      name: "no-circular",
      comment: "no import cycles",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "every-file-in-a-room",
      comment: "a file of src/ belongs to a room named in .dependency-cruiser.cjs",
      severity: "error",
      from: { path: "^src/", pathNot: `${roomsPath(ROOMS)}|^src/edge/` },
      to: {},
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    // Type-only imports count: a room that names another's types depends on it.
    tsPreCompilationDeps: true,
    // No tsconfig: its `paths` maps fastly:* to the test doubles, and src/ must see them as the runtime's modules.
    enhancedResolveOptions: { extensions: [".ts", ".js", ".json"] },
  },
};
