/**
 * The published profile schemas (assets/agents/agent.schema.json, tools.schema.json): they are
 * what the service validates with, every shipped profile passes them, they agree with the code's
 * lists and defaults, document every field, compile in ajv's strict mode without a warning, and
 * each kind of schema error is worded as `<file>: <field> <what is wrong>`, once per field (the
 * most telling of its problems).
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { Ajv, type ValidateFunction } from "ajv";
import {
  BUILTIN_TOOLS,
  DEFAULT_SMS,
  parseProfile,
  ProfileError,
  type ProfileSource,
  RELAY_OPTIONS,
} from "./agent_profile.ts";
import { REALTIME_VOICES } from "../platform/config.ts";
import { scenarioJsonProblems } from "./profile_schema.ts";

const AGENTS_DIR = fileURLToPath(new URL("../../assets/agents", import.meta.url));
const AGENT = "assets/agents/sales/agent.json";
const TOOLS = "assets/agents/sales/tools.json";

type Schema = Record<string, unknown>;

/** A schema file as published, read from disk (not through the service's import). */
async function publishedSchema(file: string): Promise<Schema> {
  return JSON.parse(await Deno.readTextFile(`${AGENTS_DIR}/${file}`));
}

/** The published schema compiled the way an editor would: its own validator, unknown keywords ignored. */
async function editorValidator(file: string): Promise<ValidateFunction> {
  const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
  return ajv.compile(await publishedSchema(file));
}

/** The problems parseProfile finds in a profile `sales` with these files ([] = accepted). */
function problemsOf(files: Partial<Omit<ProfileSource, "name">>): string[] {
  try {
    parseProfile({
      name: "sales",
      agentJson: "{}",
      instructions: "Sell.",
      toolsJson: null,
      ...files,
    });
    return [];
  } catch (err) {
    if (err instanceof ProfileError) return err.problems;
    throw err;
  }
}

/** A JSON Pointer as the service names the field: `/silence/maxReminders` → `silence.maxReminders`. */
function fieldOf(pointer: string, key?: unknown): string {
  const parts = [...pointer.split("/").slice(1), ...(key === undefined ? [] : [String(key)])];
  return parts.reduce(
    (path, p) => /^\d+$/.test(p) ? `${path}[${p}]` : path ? `${path}.${p}` : p,
    "",
  );
}

const AGENT_SAMPLES: unknown[] = [
  {},
  { $schema: "../agent.schema.json", mode: "realtime", realtimeVoice: "cedar" },
  { mode: "fax" },
  { realtimeVoice: "robot" },
  { colour: "blue" },
  { greeting: ["Hi"] },
  { handoffNumber: "0800 123" },
  { handoffNumber: "+15550100200" },
  { languages: [{ code: "es-ES", voice: "es-ES-Neural2-B" }] },
  { languages: [{ voice: "es-ES-Neural2-B" }] },
  { languages: [{ code: "es-ES", accent: "madrid" }] },
  { turnDetection: { type: "server_vad", threshold: 1.5 } },
  { turnDetection: { type: "semantic_vad", eagerness: "high" } },
  { turnDetection: { type: "semantic_vad", threshold: 0.5 } },
  { turnDetection: { threshold: 0.5 } },
  { conversationRelay: { speechtimeout: 800, hints: ["Ada", "Lovelace"] } },
  { conversationRelay: { speechtimeout: "later" } },
  { conversationRelay: { hints: ["Ada, Lovelace"] } },
  { conversationRelay: { partialPrompts: "no" } },
  { silence: { reminderAfterSeconds: 601 } },
  { silence: { maxReminders: 3, reminder: "Hello?", goodbye: "Bye." } },
  { sms: { allowTo: ["+15550100777"], maxPerCall: 5, maxLength: 160 } },
  { sms: { allowTo: ["5550100777"] } },
  { sms: { maxPerCall: 1.5 } },
  { sms: { maxLength: 0 } },
  { allowPrivateNetwork: "yes" },
  [],
];

const TOOLS_SAMPLES: unknown[] = [
  [],
  ["end_call", "send_sms"],
  ["hang_up"],
  [42],
  [{ name: "lookup", description: "Looks up.", url: "https://x.example/a", method: "GET" }],
  [{ name: "lookup", description: "Looks up." }],
  [{ name: "look up", description: "Looks up.", url: "https://x.example/a" }],
  [{ name: "lookup", description: "Looks up.", url: "mailto:a@x.example" }],
  [{ name: "lookup", description: "Looks up.", url: "https://x.example/a", timeoutMs: 99 }],
  [{ name: "lookup", description: "Looks up.", url: "https://x.example/a", parameters: {} }],
  [{ name: "lookup", description: "Looks up.", url: "https://x.example/a", retries: 2 }],
  { end_call: true },
];

Deno.test("the published schemas are what parseProfile validates with: same verdicts, the field named", async () => {
  const cases = [
    { validate: await editorValidator("agent.schema.json"), file: AGENT, samples: AGENT_SAMPLES },
    { validate: await editorValidator("tools.schema.json"), file: TOOLS, samples: TOOLS_SAMPLES },
  ];
  for (const { validate, file, samples } of cases) {
    for (const sample of samples) {
      const text = JSON.stringify(sample);
      const problems = problemsOf(file === AGENT ? { agentJson: text } : { toolsJson: text });
      const valid = validate(sample);
      assert.equal(problems.length === 0, valid, `${file} ${text}: ${problems.join("; ")}`);
      for (const error of validate.errors ?? []) {
        if (error.keyword === "if") continue;
        const key = error.params.missingProperty ?? error.params.additionalProperty;
        const field = error.instancePath || key !== undefined
          ? fieldOf(error.instancePath, key)
          : "(top level)";
        assert.ok(
          problems.some((p) => p.startsWith(`${file}: ${field} `)),
          `${text}: the schema faults ${field}; parseProfile said ${problems.join("; ")}`,
        );
      }
    }
  }
});

Deno.test("every shipped profile validates against the published schemas", async () => {
  const agent = await editorValidator("agent.schema.json");
  const tools = await editorValidator("tools.schema.json");
  let profiles = 0;
  for await (const entry of Deno.readDir(AGENTS_DIR)) {
    if (!entry.isDirectory) continue;
    profiles++;
    const dir = `${AGENTS_DIR}/${entry.name}`;
    const agentJson: Schema = JSON.parse(await Deno.readTextFile(`${dir}/agent.json`));
    assert.ok(agent(agentJson), `${entry.name}/agent.json: ${JSON.stringify(agent.errors)}`);
    // Editors find the schema through the file's own "$schema".
    assert.equal(agentJson.$schema, "../agent.schema.json", `${entry.name}/agent.json`);
    const toolsText = await Deno.readTextFile(`${dir}/tools.json`).catch(() => null);
    if (toolsText === null) continue;
    const toolsJson = JSON.parse(toolsText);
    assert.ok(tools(toolsJson), `${entry.name}/tools.json: ${JSON.stringify(tools.errors)}`);
  }
  assert.ok(profiles >= 2, "default and appointments are checked");
});

Deno.test("the schemas' lists and defaults are the code's", async () => {
  const agent = await publishedSchema("agent.schema.json");
  const tools = await publishedSchema("tools.schema.json");
  const props = agent.properties as Record<string, Schema>;
  const propsOf = (schema: Schema) => schema.properties as Record<string, Schema>;
  assert.deepEqual(props.realtimeVoice.enum, [...REALTIME_VOICES]);
  assert.deepEqual(Object.keys(propsOf(props.conversationRelay)), [...RELAY_OPTIONS]);
  const item = tools.items as Schema;
  assert.deepEqual((item.then as Schema).enum, [...BUILTIN_TOOLS]);
  const defaults = (schema: Schema) =>
    Object.fromEntries(
      Object.entries(propsOf(schema)).filter(([, s]) => "default" in s).map(([k, s]) => [
        k,
        s.default,
      ]),
    );
  const profile = parseProfile({
    name: "sales",
    agentJson: "{}",
    instructions: "Sell.",
    toolsJson: JSON.stringify([{ name: "a", description: "A.", url: "https://x.example/a" }]),
  });
  assert.deepEqual(defaults(props.silence), profile.silence);
  assert.deepEqual(defaults(props.sms), DEFAULT_SMS);
  assert.deepEqual(profile.sms, DEFAULT_SMS);
  assert.equal(defaults(agent).allowPrivateNetwork, profile.allowPrivateNetwork);
  const http = propsOf(item.else as Schema);
  assert.equal(http.method.default, profile.httpTools[0].method);
  assert.deepEqual(
    { ...http.parameters.default as Schema, additionalProperties: false },
    profile.httpTools[0].parameters,
  );
  const { type: _, ...vad } = defaults(props.turnDetection);
  for (const type of ["server_vad", "semantic_vad"]) {
    const turn = parseProfile({
      name: "sales",
      agentJson: JSON.stringify({ turnDetection: { type } }),
      instructions: "Sell.",
      toolsJson: null,
    }).turnDetection as Record<string, unknown>;
    for (const [key, value] of Object.entries(turn)) {
      if (key !== "type") assert.equal(value, vad[key], `turnDetection.${key} of ${type}`);
    }
  }
});

Deno.test("every field of both schemas has a title and a description", async () => {
  const missing: string[] = [];
  const walk = (schema: unknown, path: string) => {
    if (!schema || typeof schema !== "object") return;
    if (Array.isArray(schema)) return schema.forEach((s, i) => walk(s, `${path}[${i}]`));
    const s = schema as Schema;
    for (const [key, sub] of Object.entries((s.properties ?? {}) as Record<string, unknown>)) {
      // `true` in a then/else branch only lets a field declared above through.
      if (sub === true) continue;
      const field = sub as Schema;
      if (typeof field.title !== "string" || typeof field.description !== "string") {
        missing.push(`${path}.${key}`);
      }
    }
    for (const [key, sub] of Object.entries(s)) {
      // An `if` is a condition on fields declared elsewhere, not a field.
      if (!["enum", "default", "examples", "if"].includes(key)) walk(sub, `${path}/${key}`);
    }
  };
  for (const file of ["agent.schema.json", "tools.schema.json"]) {
    const schema = await publishedSchema(file);
    assert.equal(schema.$schema, "http://json-schema.org/draft-07/schema#", file);
    assert.equal(typeof schema.$id, "string", file);
    walk(schema, file);
  }
  assert.deepEqual(missing, []);
});

Deno.test("each kind of schema error names the field and what is wrong", () => {
  const agent = (fields: Record<string, unknown>) =>
    problemsOf({ agentJson: JSON.stringify(fields) });
  const tools = (entries: unknown[]) => problemsOf({ toolsJson: JSON.stringify(entries) });
  const url = "https://x.example/a";
  const cases: [string, string[], string][] = [
    [
      "wrong type",
      agent({ silence: { reminder: 7 } }),
      "silence.reminder must be a string (got number)",
    ],
    [
      "wrong type",
      agent({ allowPrivateNetwork: "yes" }),
      'allowPrivateNetwork must be true or false (got "yes")',
    ],
    ["wrong type", agent({ sms: [] }), "sms must be an object"],
    [
      "out of range",
      agent({ turnDetection: { type: "server_vad", prefixPaddingMs: 6000 } }),
      "turnDetection.prefixPaddingMs must be a number from 0 to 5000 (got 6000)",
    ],
    [
      "out of range",
      agent({ sms: { maxPerCall: 21 } }),
      "sms.maxPerCall must be a number from 0 to 20 (got 21)",
    ],
    [
      "not whole",
      agent({ sms: { maxLength: 160.5 } }),
      "sms.maxLength must be a whole number (got 160.5)",
    ],
    [
      "enum",
      agent({ conversationRelay: { interruptSensitivity: "max" } }),
      'conversationRelay.interruptSensitivity must be one of low, medium, high (got "max")',
    ],
    [
      "unknown key",
      agent({ silence: { after: 5 } }),
      "silence.after is not a known field (known: reminderAfterSeconds, maxReminders, reminder, goodbye)",
    ],
    [
      "unknown key",
      agent({ turnDetection: { type: "server_vad", eagerness: "low" } }),
      "turnDetection.eagerness is not a known field " +
      "(known: type, threshold, prefixPaddingMs, silenceDurationMs)",
    ],
    [
      "missing required",
      agent({ turnDetection: { eagerness: "low" } }),
      "turnDetection.type is required (server_vad or semantic_vad)",
    ],
    [
      "bad E.164",
      agent({ handoffNumber: "+0555" }),
      'handoffNumber must be an E.164 number like +15550100 (got "+0555")',
    ],
    [
      "bad E.164",
      agent({ sms: { allowTo: ["+1555010077a"] } }),
      'sms.allowTo[0] must be an E.164 number like +15550100 (got "+1555010077a")',
    ],
    [
      "wrong type",
      tools([{ name: 7, description: "D.", url }]),
      "[0].name must be a string (got number)",
    ],
    [
      "out of range",
      tools([{ name: "a", description: "D.", url, timeoutMs: 60001 }]),
      "[0].timeoutMs must be a number from 100 to 60000 (got 60001)",
    ],
    [
      "enum",
      tools([{ name: "a", description: "D.", url, method: "HEAD" }]),
      '[0].method must be one of GET, POST, PUT, PATCH, DELETE (got "HEAD")',
    ],
    [
      "unknown key",
      tools([{ name: "a", description: "D.", url, headers: {} }]),
      "[0].headers is not a known field (known: name, description, parameters, url, method, timeoutMs)",
    ],
    [
      "missing required",
      tools([{ description: "D.", url }]),
      "[0].name is required (letters, digits, _ or -, at most 64)",
    ],
    [
      "pattern",
      tools([{ name: "a", description: "D.", url: "//x.example/a" }]),
      '[0].url must be an http(s) URL (got "//x.example/a")',
    ],
    ["empty", tools([{ name: "a", description: "", url }]), "[0].description must not be empty"],
  ];
  for (const [kind, problems, expected] of cases) {
    const file = expected.startsWith("[") ? TOOLS : AGENT;
    assert.deepEqual(problems, [`${file}: ${expected}`], kind);
  }
});

Deno.test("one problem per field: the most telling of those the schema finds there", () => {
  const agent = (fields: unknown) => problemsOf({ agentJson: JSON.stringify(fields) });
  const cases: [string, string[], string][] = [
    [
      // ajv reports the wrong type, then the enum: the type says more.
      "type over enum",
      agent({ realtimeVoice: 5 }),
      "realtimeVoice must be a string (got number)",
    ],
    [
      // The server_vad branch's unknown field comes first, the whole object's after: first wins.
      "the first of two unknown-field problems",
      agent({ turnDetection: { type: "server_vad", foo: 1 } }),
      "turnDetection.foo is not a known field " +
      "(known: type, threshold, prefixPaddingMs, silenceDurationMs)",
    ],
    [
      // A field of the other kind, with a bad value too: not a field of server_vad, first.
      "an unknown field over its bad value",
      agent({ turnDetection: { type: "server_vad", eagerness: "max" } }),
      "turnDetection.eagerness is not a known field " +
      "(known: type, threshold, prefixPaddingMs, silenceDurationMs)",
    ],
    [
      // Reported after the branch's unknown field, the wrong type still wins.
      "type over unknown field",
      agent({ turnDetection: { type: "semantic_vad", threshold: "x" } }),
      'turnDetection.threshold must be a number from 0 to 1 (got "x")',
    ],
    [
      "one own message for a field's two problems (type and minimum)",
      agent({ conversationRelay: { speechtimeout: 0.5 } }),
      'conversationRelay.speechtimeout must be "auto" or a whole number (got 0.5)',
    ],
  ];
  for (const [kind, problems, expected] of cases) {
    assert.deepEqual(problems, [`${AGENT}: ${expected}`], kind);
  }
});

Deno.test("more kinds of schema error, each worded for its field", () => {
  const agent = (fields: unknown) => problemsOf({ agentJson: JSON.stringify(fields) });
  const tool = (fields: Record<string, unknown>) =>
    problemsOf({
      toolsJson: JSON.stringify([{
        name: "a",
        description: "D.",
        url: "https://x.example/a",
        ...fields,
      }]),
    });
  const cases: [string, string[], string][] = [
    [
      "unknown key at the top: the known fields, without $schema",
      agent({ colour: "blue" }),
      "colour is not a known field (known: description, greeting, mode, model, api, " +
      "realtimeModel, engine, temperature, maxOutputTokens, language, languages, " +
      "ttsProvider, voice, realtimeVoice, turnDetection, conversationRelay, silence, " +
      "handoffNumber, sms, allowPrivateNetwork, outboundParams, analysis, webhookUrl, record)",
    ],
    ["not an array", agent({ languages: 5 }), "languages must be an array"],
    [
      "an integer field given a string: its range",
      agent({ sms: { maxPerCall: "3" } }),
      'sms.maxPerCall must be a number from 0 to 20 (got "3")',
    ],
    [
      "a number field given a string: its range",
      agent({ silence: { maxReminders: "x" } }),
      'silence.maxReminders must be a number from 0 to 10 (got "x")',
    ],
    [
      "under the minimum",
      agent({ silence: { reminderAfterSeconds: -1 } }),
      "silence.reminderAfterSeconds must be a number from 0 to 600 (got -1)",
    ],
    [
      "a language without its code: the hint is its own message",
      agent({ languages: [{ voice: "es-ES-Neural2-B" }] }),
      'languages[0].code is required (a language code like "es-ES")',
    ],
    [
      "own message, an object given: not repeated",
      agent({ conversationRelay: { hints: { a: 1 } } }),
      "conversationRelay.hints must be a comma-separated string or an array of words and phrases",
    ],
    ["own message, an array given: not repeated", agent([1]), "(top level) must be a JSON object"],
  ];
  for (const [kind, problems, expected] of cases) {
    assert.deepEqual(problems, [`${AGENT}: ${expected}`], kind);
  }
  const toolCases: [string, string[], string][] = [
    [
      "const",
      tool({ parameters: { type: "array" } }),
      '[0].parameters.type must be "object" (got "array")',
    ],
    [
      "missing const: the value it must have",
      tool({ parameters: {} }),
      '[0].parameters.type is required ("object")',
    ],
    [
      "own message, an array given: not repeated",
      tool({ parameters: [] }),
      '[0].parameters must be a JSON Schema with "type": "object"',
    ],
    [
      "own message, a scalar given: repeated",
      tool({ parameters: "object" }),
      '[0].parameters must be a JSON Schema with "type": "object" (got "object")',
    ],
  ];
  for (const [kind, problems, expected] of toolCases) {
    assert.deepEqual(problems, [`${TOOLS}: ${expected}`], kind);
  }
  assert.deepEqual(problemsOf({ toolsJson: JSON.stringify({ end_call: true }) }), [
    `${TOOLS}: (top level) must be an array of built-in tool names and HTTP tool objects`,
  ]);
});

/** Runs `body` with console.warn, .error and .log captured; returns what they printed. */
async function consoleOf(body: () => Promise<void>): Promise<string[]> {
  const printed: string[] = [];
  const saved = { warn: console.warn, error: console.error, log: console.log };
  const capture = (...args: unknown[]) => void printed.push(args.map(String).join(" "));
  Object.assign(console, { warn: capture, error: capture, log: capture });
  try {
    await body();
  } finally {
    Object.assign(console, saved);
  }
  return printed;
}

Deno.test("the schemas compile in ajv's strict mode without a warning in the logs", async () => {
  // A fresh copy of the module (its own specifier), so its compilation happens in here.
  const fresh = new URL("./profile_schema.ts?strict-mode", import.meta.url).href;
  let problems: string[] = [];
  const printed = await consoleOf(async () => {
    const module = await import(fresh);
    problems = module.agentJsonProblems({ conversationRelay: { speechtimeout: true } }, "F");
  });
  assert.deepEqual(printed, []);
  assert.deepEqual(problems, [
    'F: conversationRelay.speechtimeout must be "auto" or a whole number (got true)',
  ]);
  // The union types (maxOutputTokens, speechtimeout, hints) are why: strict ajv would warn of
  // each otherwise.
  const strict = await consoleOf(async () => {
    const ajv = new Ajv({ allErrors: true, verbose: true });
    ajv.addKeyword("errorMessage");
    ajv.addKeyword("patternErrorMessage");
    ajv.compile(await publishedSchema("agent.schema.json"));
  });
  assert.equal(strict.length, 3, strict.join("\n"));
  assert.match(strict[0], /allowUnionTypes.*maxOutputTokens/);
  assert.match(strict[1], /allowUnionTypes.*speechtimeout/);
  assert.match(strict[2], /allowUnionTypes.*hints/);
});

Deno.test("a JSON syntax error in one file hides no other file's problems", () => {
  const problems = problemsOf({
    agentJson: '{"mode": "relay",}',
    toolsJson: '["end_call", {"name": "lookup"}]',
    instructions: " ",
  });
  assert.equal(problems.length, 4, problems.join("\n"));
  assert.equal(
    problems[0],
    `${AGENT}: is not valid JSON at line 1, column 18 (Expected double-quoted property name)`,
  );
  assert.deepEqual(problems.slice(1), [
    `${TOOLS}: [1].description is required`,
    `${TOOLS}: [1].url is required (an http(s) URL)`,
    "assets/agents/sales/instructions.md: must not be empty",
  ]);
  // And the other way round: a broken tools.json leaves agent.json's problems standing.
  assert.deepEqual(problemsOf({ agentJson: '{"mode": 1}', toolsJson: "[" }).length, 2);
});

Deno.test("the scenario schema words its problems as the profile schemas do", () => {
  assert.deepEqual(scenarioJsonProblems({ caller: { turns: [] } }, "S"), ["S: checks is required"]);
  assert.deepEqual(
    scenarioJsonProblems({ caller: { turns: [] }, checks: [{ type: "latency_under" }] }, "S"),
    ["S: checks[0].ms is required"],
  );
  assert.deepEqual(scenarioJsonProblems({ caller: { turns: [] }, checks: [] }, "S"), []);
});
