import { DEFAULT_POLICY, encodePolicy } from "../../src/core/policy-document.ts";
import type { EngineVector } from "./engine-vector.ts";

/**
 * Index files full of edge cases, without expectations: the build script decides them with the core in Node, and the
 * engine must decide them identically (line by line, verdict by verdict, byte by byte).
 */
export type VectorInput = Omit<EngineVector, "expected">;

const at = (rfc3339: string) => Date.parse(rfc3339) / 1000;
const NOW = at("2026-09-21T12:00:00Z");
const days = (n: number) => ({ label: `${n}d`, seconds: n * 86_400 });
const hours = (n: number) => ({ label: `${n}h`, seconds: n * 3_600 });

const L = (fields: string) => `{"name":"Edge_Case",${fields}}\n`;
const base = (vers: string) =>
  `"vers":"${vers}","deps":[{"name":"dep","req":"^1","features":[],"optional":false,"default_features":true,"target":null,"kind":"normal"}],"cksum":"ab","features":{"default":["std"],"std":[]}`;
const PT_OLD = '"pubtime":"2026-08-01T00:00:00Z"';
const PT_YOUNG = '"pubtime":"2026-09-20T00:00:00Z"';

const record = (crate: string, times: Record<string, number>) => JSON.stringify({ v: 1, crate, times });

const odd: VectorInput[] = [
  {
    name: "pubtime present, absent and malformed in one file",
    crate: "edge_case",
    text:
      L(`${base("1.0.0")},"yanked":false,${PT_OLD}`) +
      L(`${base("1.0.1")},"yanked":false`) +
      L(`${base("1.0.2")},"yanked":false,"pubtime":"2026-09-01T00:00:00z"`) +
      L(`${base("1.0.3")},"yanked":false,"pubtime":"2026-09-01 00:00:00Z"`) +
      L(`${base("1.0.4")},"yanked":false,"pubtime":"0099-01-01T00:00:00Z"`) +
      L(`${base("1.0.5")},"yanked":false,"pubtime":"2024-02-29T00:00:00Z"`) +
      L(`${base("1.0.6")},"yanked":false,"pubtime":"2027-02-29T00:00:00Z"`) +
      L(`${base("1.0.7")},"yanked":false,"pubtime":null`) +
      L(`${base("1.0.8")},"yanked":false,"pubtime":1790000000`) +
      L(`${base("1.0.9")},"yanked":false,${PT_YOUNG}`),
    window: days(7),
    now: NOW,
    record: record("edge_case", { "1.0.1": at("2026-09-01T00:00:00Z"), "1.0.2": at("2026-09-19T00:00:00Z") }),
    prePubtimeInference: true,
    policy: null,
  },
  {
    name: "yanked true, false, missing, and not a boolean",
    crate: "edge_case",
    text:
      L(`${base("2.0.0")},"yanked":true,${PT_OLD}`) +
      L(`${base("2.0.1")},${PT_OLD}`) +
      L(`${base("2.0.2")},"yanked":"true",${PT_OLD}`) +
      L(`${base("2.0.3")},"yanked":null,${PT_OLD}`) +
      L(`${base("2.0.4")},"yanked":false,${PT_YOUNG}`) +
      L(`${base("2.0.5")},"yanked":true,${PT_YOUNG}`),
    window: days(3),
    now: NOW,
    record: null,
    prePubtimeInference: false,
    policy: null,
  },
  {
    name: "look-alike keys nested in deps and features, repeated keys, odd spacing",
    crate: "edge_case",
    text:
      L(`${base("3.0.0")},"yanked":false,${PT_OLD},"features2":{"yanked":["a"],"pubtime":[],"vers":[]},"v":2`) +
      L(
        `"vers":"3.0.1","deps":[{"name":"vers","req":"\\"vers\\":\\"0\\"","kind":"normal"}],"cksum":"ab","features":{},"yanked":false,${PT_OLD}`,
      ) +
      L(`"vers":"3.0.2","vers":"3.0.3","deps":[],"cksum":"ab","features":{},"yanked":false,${PT_OLD}`) +
      L(`"vers" : "3.0.4" , "deps" : [ ] , "yanked" : false , ${PT_OLD}`) +
      L(`"vers":"3.0.5","deps":[],"yanked":false,"yanked":true,${PT_OLD}`) +
      L(`"vers":"3.0.6","deps":[],"yanked":false,${PT_OLD},${PT_YOUNG}`),
    window: days(7),
    now: NOW,
    record: null,
    prePubtimeInference: false,
    policy: null,
  },
  {
    name: "unicode, escaped quotes and \\u escapes in keys and values",
    crate: "edge_case",
    text:
      L(`${base("4.0.0")},"yanked":false,${PT_OLD},"links":"ünï-çødé 😀 日本語"`) +
      L(`"vers":"4.0.1","deps":[],"cksum":"ab","features":{"quote\\"d":["a\\\\"]},"yanked":false,${PT_OLD}`) +
      L(`"\\u0076ers":"4.0.2","deps":[],"yanked":false,${PT_OLD}`) +
      L(`"vers":"4.0.3\\u002bbuild","deps":[],"yanked":false,${PT_OLD}`) +
      L(`"vers":"4.0.4","deps":[],"yanked":false,"pubtime":"2026\\u002d08-01T00:00:00Z"`) +
      L(`"vers":"4.0.5","deps":[],"y\\u0061nked":true,${PT_OLD}`) +
      L(`"vers":"4.0.6-α.1","deps":[],"yanked":false`),
    window: days(7),
    now: NOW,
    record: record("edge_case", { "4.0.6-α.1": at("2026-08-01T00:00:00Z"), "4.0.3+build": at("2026-09-20T00:00:00Z") }),
    prePubtimeInference: false,
    policy: null,
  },
  {
    name: "lines that are not index entries",
    crate: "edge_case",
    text: `[1,2]\n42\nnull\n{}\n${L(`"vers":1,"yanked":false,${PT_OLD}`)}\nnot json at all\n${L(`${base("5.0.0")},"yanked":false,${PT_OLD}`)}`,
    window: days(7),
    now: NOW,
    record: null,
    prePubtimeInference: false,
    policy: null,
  },
  {
    name: "a line that ends with } but is not valid JSON",
    crate: "edge_case",
    text:
      L(`"vers":"5.1.0","deps":[],"yanked":false,${PT_OLD},garbage`) + L(`${base("5.1.1")},"yanked":false,${PT_OLD}`),
    window: days(7),
    now: NOW,
    record: null,
    prePubtimeInference: false,
    policy: null,
  },
  {
    name: "a byte order mark before the first line",
    crate: "edge_case",
    text: `\uFEFF${L(`${base("6.0.0")},"yanked":false,${PT_OLD}`)}${L(`${base("6.0.1")},"yanked":false,${PT_OLD}`)}`,
    window: days(7),
    now: NOW,
    record: null,
    prePubtimeInference: false,
    policy: null,
  },
  {
    name: "a truncated last line, cut inside a string",
    crate: "edge_case",
    text: `${L(`${base("7.0.0")},"yanked":false,${PT_OLD}`)}{"name":"Edge_Case","vers":"7.0.1","deps":[],"cksum":"ab","features":{},"yanked":false,"pubtime":"2026-08-0`,
    window: days(7),
    now: NOW,
    record: null,
    prePubtimeInference: false,
    policy: null,
  },
  {
    name: "a complete last line without its newline",
    crate: "edge_case",
    text: `${L(`${base("7.1.0")},"yanked":false,${PT_OLD}`)}{"name":"Edge_Case",${base("7.1.1")},"yanked":false,${PT_OLD}}`,
    window: days(7),
    now: NOW,
    record: null,
    prePubtimeInference: false,
    policy: null,
  },
  {
    name: "CRLF line ends and blank lines",
    crate: "edge_case",
    text: `${L(`${base("8.0.0")},"yanked":false,${PT_OLD}`).replace("\n", "\r\n")}\n\n${L(`${base("8.0.1")},"yanked":false,${PT_YOUNG}`)}\n`,
    window: days(1),
    now: NOW,
    record: null,
    prePubtimeInference: false,
    policy: null,
  },
  {
    name: "an empty file",
    crate: "edge_case",
    text: "",
    window: days(7),
    now: NOW,
    record: null,
    prePubtimeInference: true,
    policy: null,
  },
  {
    name: "a file of one newline",
    crate: "edge_case",
    text: "\n",
    window: days(7),
    now: NOW,
    record: null,
    prePubtimeInference: true,
    policy: null,
  },
  {
    name: "a file without pubtime, dated by the record, by the inference, or not at all",
    crate: "edge_case",
    text:
      L(`${base("9.0.0")},"yanked":false`) + L(`${base("9.0.1")},"yanked":false`) + L(`${base("9.0.2")},"yanked":true`),
    window: days(30),
    now: NOW,
    record: record("edge_case", { "9.0.1": at("2026-09-10T00:00:00Z") }),
    prePubtimeInference: true,
    policy: null,
  },
  {
    name: "the shortest and longest windows",
    crate: "edge_case",
    text:
      L(`${base("10.0.0")},"yanked":false,"pubtime":"2026-09-21T11:30:00Z"`) +
      L(`${base("10.0.1")},"yanked":false,"pubtime":"2026-08-21T12:00:00Z"`),
    window: hours(1),
    now: NOW,
    record: null,
    prePubtimeInference: false,
    policy: null,
  },
  {
    name: "the longest window in hours",
    crate: "edge_case",
    text:
      L(`${base("10.0.0")},"yanked":false,"pubtime":"2026-09-21T11:30:00Z"`) +
      L(`${base("10.0.1")},"yanked":false,"pubtime":"2026-08-21T12:00:00Z"`),
    window: hours(720),
    now: NOW,
    record: null,
    prePubtimeInference: false,
    policy: null,
  },
];

/** A deterministic generator (no Math.random: Node and the generated module must agree on the text). */
function combinatorialFile(seed: number, lines: number): string {
  let state = seed;
  const next = (n: number) => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state % n;
  };
  const pubtimes = [PT_OLD, PT_YOUNG, '"pubtime":"2026-13-01T00:00:00Z"', '"pubtime":"2026-09-18T23:59:59Z"', ""];
  const yanked = ['"yanked":false', '"yanked":true', ""];
  const extras = ['"links":"z"', '"rust_version":"1.70"', '"features2":{"x":["dep:y"]},"v":2', '"v":3', ""];
  const deps = [
    "[]",
    '[{"name":"a","req":"=1.0","features":["vers"],"optional":true,"default_features":false,"target":"cfg(unix)","kind":"dev","package":"b"}]',
  ];
  let text = "";
  for (let i = 0; i < lines; i++) {
    const fields = [
      `"vers":"0.${i}.${next(3)}"`,
      `"deps":${deps[next(2)]}`,
      `"cksum":"${i.toString(16)}"`,
      `"features":{}`,
    ];
    for (const pool of [yanked, extras, pubtimes]) {
      const field = pool[next(pool.length)] as string;
      if (field !== "") fields.push(field);
    }
    if (next(7) === 0) fields.reverse();
    const sep = next(11) === 0 ? ", " : ",";
    text += `{"name":"Mixed",${fields.join(sep)}}\n`;
  }
  return text;
}

export const EDGE_CASE_INPUTS: readonly VectorInput[] = [
  ...odd,
  {
    name: "300 generated lines mixing field orders, optional fields, pubtimes and yanks",
    crate: "mixed",
    text: combinatorialFile(20_260_921, 300),
    window: days(2),
    now: NOW,
    record: record("mixed", { "0.1.0": at("2026-09-20T00:00:00Z"), "0.2.1": at("2026-01-01T00:00:00Z") }),
    prePubtimeInference: false,
    policy: null,
  },
  {
    name: "300 generated lines under a policy: yanked kept, unknown ages shown, an exception, security fixes admitted after 2h",
    crate: "mixed",
    text: combinatorialFile(7, 300),
    window: days(7),
    now: NOW,
    record: JSON.stringify({
      v: 2,
      crate: "mixed",
      times: { "0.3.0": at("2026-09-21T09:00:00Z") },
      advisories: [{ id: "RUSTSEC-2026-0002", patched: [">= 0.150.0", "^0.20.1", "not a requirement"] }],
    }),
    prePubtimeInference: false,
    policy: encodePolicy({
      ...DEFAULT_POLICY,
      yanked: "keep",
      unknownPublishTime: "show",
      securityFixFloor: 2 * 3_600,
      exceptions: [
        {
          crate: "mixed",
          version: "0.299.1",
          reason: "pinned by a release branch",
          expires: at("2026-12-31T00:00:00Z"),
        },
      ],
    }),
  },
];
