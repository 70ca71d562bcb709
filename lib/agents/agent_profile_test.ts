/**
 * Agent profiles: the shipped ones load with their fields; every validation problem names the
 * file, the field and what is wrong, all of them at once; instructions templates render the
 * call's data.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  type AgentProfile,
  parseProfile,
  ProfileError,
  type ProfileSource,
  profileWarnings,
} from "./agent_profile.ts";
import { loadProfiles, readProfileFolders } from "./profile_folders.ts";
import { callTemplateValues, renderTemplate } from "./template.ts";
import type { ToolCallInfo } from "./tools.ts";

const AGENTS_DIR = fileURLToPath(new URL("../../assets/agents", import.meta.url));
const AGENT = "assets/agents/sales/agent.json";
const TOOLS = "assets/agents/sales/tools.json";

/** The problems {@link ProfileError} lists for `run`; fails when it does not throw one. */
async function problemsOf(run: () => unknown): Promise<string[]> {
  try {
    await run();
  } catch (err) {
    if (err instanceof ProfileError) return err.problems;
    throw err;
  }
  assert.fail("the profile was accepted");
}

/** The problems of a profile `sales` with these files (valid defaults for the others). */
function profileProblems(files: Partial<Omit<ProfileSource, "name">>): Promise<string[]> {
  return problemsOf(() =>
    parseProfile({
      name: "sales",
      agentJson: "{}",
      instructions: "Sell.",
      toolsJson: null,
      ...files,
    })
  );
}

/** `agent.json` text of `fields`. */
function agentJson(fields: Record<string, unknown>): { agentJson: string } {
  return { agentJson: JSON.stringify(fields) };
}

/** `tools.json` text of `entries`. */
function toolsJson(entries: unknown[]): { toolsJson: string } {
  return { toolsJson: JSON.stringify(entries) };
}

/** Writes `files` (path relative to a new temp dir → text), runs `fn` on the dir, removes it. */
async function withAgentsDir<T>(
  files: Record<string, string>,
  fn: (dir: string) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "agents_" });
  try {
    for (const [path, text] of Object.entries(files)) {
      const folder = path.slice(0, Math.max(0, path.lastIndexOf("/")));
      await Deno.mkdir(`${dir}/${folder}`, { recursive: true });
      await Deno.writeTextFile(`${dir}/${path}`, text);
    }
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const VALID = { "agent.json": "{}", "instructions.md": "Help." };

/** The files of a valid profile folder `name`. */
function validProfile(name: string): Record<string, string> {
  return Object.fromEntries(Object.entries(VALID).map(([file, text]) => [`${name}/${file}`, text]));
}

Deno.test("the shipped profiles load: default and appointments with their fields", async () => {
  const profiles = await loadProfiles(AGENTS_DIR);
  assert.deepEqual([...profiles.keys()], ["appointments", "default"]);

  const fallback = profiles.get("default")!;
  assert.match(fallback.description, /General-purpose assistant/);
  assert.equal(fallback.greeting, null, "the greeting comes from WELCOME_GREETING");
  assert.equal(fallback.mode, null);
  assert.equal(fallback.realtimeVoice, null);
  assert.equal(fallback.handoffNumber, null);
  assert.deepEqual(fallback.builtinTools, [
    "end_call",
    "transfer_to_human",
    "send_dtmf",
    "send_sms",
    "switch_language",
  ]);
  assert.deepEqual(fallback.httpTools, []);
  assert.equal(fallback.silence.reminderAfterSeconds, 10);
  assert.match(fallback.instructions, /^# Role/);

  const appointments: AgentProfile = profiles.get("appointments")!;
  assert.match(appointments.greeting ?? "", /^Hello, you've reached Bright Smile Dental\./);
  assert.equal(appointments.mode, "relay");
  assert.equal(appointments.language, "en-US");
  assert.deepEqual(appointments.languages, [
    { code: "es-ES", ttsProvider: "Google", voice: "es-ES-Neural2-B" },
  ]);
  assert.equal(appointments.realtimeVoice, "coral");
  assert.deepEqual(appointments.turnDetection, { type: "semantic_vad", eagerness: "medium" });
  assert.deepEqual(appointments.silence, {
    reminderAfterSeconds: 8,
    maxReminders: 2,
    reminder: "Are you still there? Take your time.",
    goodbye: "It seems we got disconnected. Please call us back any time. Goodbye.",
  });
  assert.deepEqual(appointments.builtinTools, [
    "end_call",
    "transfer_to_human",
    "send_sms",
    "switch_language",
  ]);
  assert.deepEqual(
    appointments.httpTools.map(({ name, url, method, timeoutMs }) => ({
      name,
      url,
      method,
      timeoutMs,
    })),
    [
      {
        name: "find_slots",
        url: "/demo/booking/slots",
        method: "POST",
        timeoutMs: 4000,
      },
      {
        name: "book_appointment",
        url: "/demo/booking/book",
        method: "POST",
        timeoutMs: 4000,
      },
      {
        name: "cancel_appointment",
        url: "/demo/booking/cancel",
        method: "POST",
        timeoutMs: 4000,
      },
    ],
  );
  assert.deepEqual(appointments.httpTools[1].parameters.required, ["slot", "name"]);
  assert.match(appointments.instructions, /\{\{from\}\}/);
});

Deno.test("a valid profile gets defaults for what it leaves out", () => {
  const profile = parseProfile({
    name: "sales",
    agentJson: JSON.stringify({
      turnDetection: { type: "server_vad", threshold: 0.7 },
      silence: { reminderAfterSeconds: 5 },
    }),
    instructions: "Sell.",
    toolsJson: JSON.stringify([{
      name: "lookup",
      description: "Looks up an order.",
      url: "https://shop.example.com/lookup",
    }]),
  });
  assert.deepEqual(profile.turnDetection, {
    type: "server_vad",
    threshold: 0.7,
    prefixPaddingMs: 300,
    silenceDurationMs: 500,
  });
  assert.equal(profile.silence.reminderAfterSeconds, 5);
  assert.equal(profile.silence.maxReminders, 2);
  assert.deepEqual(profile.httpTools, [{
    name: "lookup",
    description: "Looks up an order.",
    // Arguments the schema does not name are refused unless the manifest says otherwise.
    parameters: { type: "object", properties: {}, additionalProperties: false },
    url: "https://shop.example.com/lookup",
    method: "POST",
  }]);
});

Deno.test("agent.json: invalid JSON, not an object, unknown field", async () => {
  const [invalid, ...rest] = await profileProblems({ agentJson: '{"greeting": "hi",}' });
  assert.equal(
    invalid,
    `${AGENT}: is not valid JSON at line 1, column 19 (Expected double-quoted property name)`,
  );
  assert.deepEqual(rest, []);
  assert.deepEqual(await profileProblems({ agentJson: "[]" }), [
    `${AGENT}: (top level) must be a JSON object`,
  ]);
  const [unknown] = await profileProblems(agentJson({ greting: "Hi" }));
  assert.match(unknown, new RegExp(`^${AGENT}: greting is not a known field \\(known: .*greeting`));
});

Deno.test("agent.json: wrong types and ranges name the field and the value", async () => {
  const cases: [Record<string, unknown>, string][] = [
    [
      { silence: { reminderAfterSeconds: -1 } },
      "silence.reminderAfterSeconds must be a number from 0 to 600 (got -1)",
    ],
    [
      { silence: { reminderAfterSeconds: "10" } },
      'silence.reminderAfterSeconds must be a number from 0 to 600 (got "10")',
    ],
    [
      { silence: { maxReminders: 11 } },
      "silence.maxReminders must be a number from 0 to 10 (got 11)",
    ],
    [{ silence: "quiet" }, "silence must be an object"],
    [{ turnDetection: "server_vad" }, "turnDetection must be an object"],
    [{ turnDetection: {} }, "turnDetection.type is required (server_vad or semantic_vad)"],
    [
      { turnDetection: { type: "fast" } },
      'turnDetection.type must be one of server_vad, semantic_vad (got "fast")',
    ],
    [
      { turnDetection: { type: "server_vad", threshold: 2 } },
      "turnDetection.threshold must be a number from 0 to 1 (got 2)",
    ],
    [
      { turnDetection: { type: "semantic_vad", eagerness: "eager" } },
      'turnDetection.eagerness must be one of low, medium, high, auto (got "eager")',
    ],
    [
      { handoffNumber: "555-0100" },
      'handoffNumber must be an E.164 number like +15550100 (got "555-0100")',
    ],
    [
      { handoffNumber: 15550100 },
      "handoffNumber must be an E.164 number like +15550100 (got 15550100)",
    ],
    [{ mode: "fax" }, 'mode must be one of relay, realtime, sip (got "fax")'],
    [{ greeting: 5 }, "greeting must be a string (got number)"],
    [
      { realtimeVoice: "robot" },
      'realtimeVoice must be one of alloy, ash, ballad, coral, echo, sage, shimmer, verse, marin, cedar (got "robot")',
    ],
    [{ languages: "es-ES" }, "languages must be an array"],
    [{ languages: [{}] }, 'languages[0].code is required (a language code like "es-ES")'],
    [{ languages: ["es-ES"] }, "languages[0] must be an object"],
  ];
  for (const [fields, problem] of cases) {
    assert.deepEqual(
      await profileProblems(agentJson(fields)),
      [`${AGENT}: ${problem}`],
      JSON.stringify(fields),
    );
  }
});

Deno.test("tools.json: unknown built-in, duplicate names, incomplete HTTP tools", async () => {
  const cases: [unknown[], string[]][] = [
    [["hang_up"], [
      '[0] must be one of end_call, transfer_to_human, send_dtmf, send_sms, switch_language (got "hang_up")',
    ]],
    [["end_call", "end_call"], ['[1] "end_call" is listed twice']],
    [
      [
        { name: "lookup", description: "Looks up.", url: "https://x.example/a" },
        { name: "lookup", description: "Again.", url: "https://x.example/b" },
      ],
      ['[1].name "lookup" is used twice'],
    ],
    [
      ["end_call", { name: "end_call", description: "Mine.", url: "https://x.example/a" }],
      ['[1].name "end_call" is used twice'],
    ],
    [[{ name: "lookup" }], [
      "[0].description is required",
      "[0].url is required (an http(s) URL)",
    ]],
    [[{ name: "lookup", description: "Looks up.", url: "ftp://x.example/a" }], [
      '[0].url must be an http(s) URL (got "ftp://x.example/a")',
    ]],
    [
      [{ name: "lookup", description: "Looks up.", url: "https://x.example/a", parameters: [] }],
      ['[0].parameters must be a JSON Schema with "type": "object"'],
    ],
    [
      [{
        name: "lookup",
        description: "Looks up.",
        url: "https://x.example/a",
        parameters: { type: "string" },
      }],
      ['[0].parameters.type must be "object" (got "string")'],
    ],
    [[42], ["[0] must be a built-in tool name or an HTTP tool object (got 42)"]],
    [[{ name: "own", description: "Mine.", url: "/agents/default" }], [
      '[0].url must be an http(s) URL (got "/agents/default")',
    ]],
    [[{ name: "own", description: "Mine.", url: "/demo/../agents" }], [
      '[0].url must be an http(s) URL (got "/demo/../agents")',
    ]],
  ];
  for (const [entries, problems] of cases) {
    assert.deepEqual(
      await profileProblems(toolsJson(entries)),
      problems.map((p) => `${TOOLS}: ${p}`),
      JSON.stringify(entries),
    );
  }
  assert.deepEqual(await profileProblems({ toolsJson: '{"end_call": true}' }), [
    `${TOOLS}: (top level) must be an array of built-in tool names and HTTP tool objects`,
  ]);
  const [invalid] = await profileProblems({ toolsJson: "[end_call]" });
  assert.match(invalid, new RegExp(`^${TOOLS}: is not valid JSON`));
});

Deno.test("instructions.md must not be empty", async () => {
  assert.deepEqual(await profileProblems({ instructions: " \n\t\n" }), [
    "assets/agents/sales/instructions.md: must not be empty",
  ]);
});

Deno.test("every problem of a profile is reported at once", async () => {
  const problems = await profileProblems({
    ...agentJson({ mode: "fax", silence: { reminderAfterSeconds: 9999 }, colour: "blue" }),
    ...toolsJson(["hang_up"]),
    instructions: "",
  });
  assert.deepEqual(problems, [
    `${AGENT}: colour is not a known field (known: description, greeting, mode, model, api, realtimeModel, engine, temperature, maxOutputTokens, language, languages, ttsProvider, voice, realtimeVoice, turnDetection, conversationRelay, silence, handoffNumber, sms, allowPrivateNetwork, outboundParams, analysis, webhookUrl, record)`,
    `${AGENT}: mode must be one of relay, realtime, sip (got "fax")`,
    `${AGENT}: silence.reminderAfterSeconds must be a number from 0 to 600 (got 9999)`,
    `${TOOLS}: [0] must be one of end_call, transfer_to_human, send_dtmf, send_sms, switch_language (got "hang_up")`,
    "assets/agents/sales/instructions.md: must not be empty",
  ]);
});

Deno.test("loadProfiles: missing agent.json / instructions.md and a missing default are named", async () => {
  await withAgentsDir({
    "default/instructions.md": "Help.",
    "sales/agent.json": "{}",
    "notes.txt": "not a profile",
  }, async (dir) => {
    assert.deepEqual(await problemsOf(() => loadProfiles(dir)), [
      `${dir}/default/agent.json: is missing`,
      `${dir}/sales/instructions.md: is missing`,
    ]);
  });
  await withAgentsDir(validProfile("sales"), async (dir) => {
    assert.deepEqual(await problemsOf(() => loadProfiles(dir)), [
      `${dir}/default: a "default" profile is required`,
    ]);
  });
  assert.match(
    (await problemsOf(() => loadProfiles("/nonexistent/agents")))[0],
    /^\/nonexistent\/agents: cannot read the agents folder \(NotFound\)$/,
  );
});

Deno.test("loadProfiles reports the problems of every profile folder at once", async () => {
  await withAgentsDir({
    ...validProfile("default"),
    "billing/agent.json": '{"handoffNumber": "0800"}',
    "billing/instructions.md": "",
    "billing/tools.json": '["end_call", "end_call"]',
    "Sales Team/agent.json": "{",
    "Sales Team/instructions.md": "Sell.",
  }, async (dir) => {
    const problems = await problemsOf(() => loadProfiles(dir));
    assert.equal(problems.length, 5, problems.join("\n"));
    assert.deepEqual(problems.slice(0, 3), [
      `${dir}/billing/agent.json: handoffNumber must be an E.164 number like +15550100 (got "0800")`,
      `${dir}/billing/tools.json: [1] "end_call" is listed twice`,
      `${dir}/billing/instructions.md: must not be empty`,
    ]);
    assert.equal(
      problems[3],
      `${dir}/Sales Team: the folder name must be lower-case letters, digits, - or _`,
    );
    assert.match(problems[4], new RegExp(`^${dir}/Sales Team/agent\\.json: is not valid JSON`));
  });
  await withAgentsDir({ ...validProfile("default"), ...validProfile("sales") }, async (dir) => {
    assert.deepEqual([...(await loadProfiles(dir)).keys()], ["default", "sales"]);
  });
});

const CALL = {
  callSid: "CA0123456789abcdef0123456789abcdef",
  from: "+15550100123",
  to: "+15550100999",
  direction: "inbound",
  agent: "appointments",
};

Deno.test("templates: call fields, params values, sections and unknown names", () => {
  const values = callTemplateValues(CALL, {
    customerName: "Ada",
    order: { id: 7 },
    visits: 3,
    note: null,
  });
  assert.equal(
    renderTemplate("{{from}} → {{ to }} ({{direction}}, {{agent}}, {{callSid}})", values),
    `+15550100123 → +15550100999 (inbound, appointments, ${CALL.callSid})`,
  );
  assert.equal(
    renderTemplate("{{customerName}} {{order}} {{visits}}[{{note}}]", values),
    'Ada {"id":7} 3[]',
  );
  const section = "Hello{{#customerName}}, {{customerName}}{{/customerName}}!";
  assert.equal(renderTemplate(section, values), "Hello, Ada!");
  assert.equal(renderTemplate(section, { customerName: "" }), "Hello!");
  assert.equal(renderTemplate(section, {}), "Hello!");
  assert.equal(
    renderTemplate("[{{nobody}}][{{#nobody}}gone{{/nobody}}][{{constructor}}][{{__proto__}}]", {}),
    "[][][][]",
    "unknown names, including Object.prototype's, render as nothing",
  );
});

Deno.test("templates: the call's own fields win over params of the same name", () => {
  const values = callTemplateValues(CALL, { from: "+19995550000", agent: "evil", topic: "teeth" });
  assert.equal(values.from, CALL.from);
  assert.equal(values.agent, "appointments");
  assert.equal(values.topic, "teeth");
  // The relay path passes its whole call record: its other fields are not template values.
  const call: ToolCallInfo = { ...CALL, mode: "relay", params: { topic: "teeth" } };
  assert.equal(
    renderTemplate("[{{params}}][{{topic}}]", callTemplateValues(call, call.params)),
    "[][teeth]",
  );
});

Deno.test("templates: the shipped appointments instructions render the caller's data", async () => {
  const profile = (await loadProfiles(AGENTS_DIR)).get("appointments")!;
  const known = renderTemplate(
    profile.instructions,
    callTemplateValues(CALL, { customerName: "Ada Lovelace" }),
  );
  assert.match(known, /The caller's number is \+15550100123\./);
  assert.match(known, /The caller is probably\s+Ada Lovelace\./);
  assert.ok(!known.includes("{{"), "no template syntax reaches the model");
  const unknown = renderTemplate(profile.instructions, callTemplateValues(CALL));
  assert.ok(!unknown.includes("probably"));
  assert.ok(!unknown.includes("{{"));
});

Deno.test("conversationRelay options are validated, each problem named with its field", async () => {
  const problems = await profileProblems(agentJson({
    conversationRelay: {
      ignorebackchannel: "yes",
      speechtimeout: "soon",
      interruptSensitivity: "extreme",
      partialPrompts: 1,
      hints: ["a,b"],
      backgroundNoise: true,
    },
  }));
  const at = `${AGENT}: conversationRelay.`;
  assert.deepEqual(problems.sort(), [
    `${at}backgroundNoise is not a known field (known: ignorebackchannel, backgroundnoisereduction, speechtimeout, interruptSensitivity, partialPrompts, hints)`,
    `${at}hints[0] must be a word or phrase without commas (got "a,b")`,
    `${at}ignorebackchannel must be true or false (got "yes")`,
    `${at}interruptSensitivity must be one of low, medium, high (got "extreme")`,
    `${at}partialPrompts must be true or false (got 1)`,
    `${at}speechtimeout must be "auto" or a whole number (got "soon")`,
  ]);
  const ok = parseProfile({
    name: "test",
    agentJson: JSON.stringify({
      conversationRelay: { speechtimeout: "auto", hints: "Ada, Lovelace", partialPrompts: false },
    }),
    instructions: "Help.",
    toolsJson: null,
  });
  assert.deepEqual(ok.conversationRelay, {
    partialPrompts: false,
    speechtimeout: "auto",
    hints: "Ada, Lovelace",
  });
});

Deno.test("a missing instructions.md hides no JSON syntax error: every file's problems at once", async () => {
  await withAgentsDir({
    ...validProfile("default"),
    "sales/agent.json": '{\n  "greeting": "Hi"\n  "mode": "relay"\n}\n',
    "sales/tools.json": '["end_call", "end_call"]',
  }, async (dir) => {
    const folders = await readProfileFolders(dir);
    assert.ok(folders.get("default")!.profile, "the good profile loads");
    const sales = folders.get("sales")!;
    assert.equal(sales.profile, null, "the bad one is disabled");
    assert.deepEqual(sales.problems, [
      `${dir}/sales/agent.json: is not valid JSON at line 3, column 3 ` +
      "(Expected ',' or '}' after property value)",
      `${dir}/sales/tools.json: [1] "end_call" is listed twice`,
      `${dir}/sales/instructions.md: is missing`,
    ]);
  });
});

Deno.test("JSON syntax errors name the line and column, an empty file its end", async () => {
  assert.deepEqual(await profileProblems({ agentJson: "" }), [
    `${AGENT}: is not valid JSON at line 1, column 1 (Unexpected end of JSON input)`,
  ]);
  assert.deepEqual(await profileProblems({ toolsJson: '[\n  "end_call",\n  ]' }), [
    `${TOOLS}: is not valid JSON at line 3, column 3 (Unexpected token ']')`,
  ]);
});

Deno.test("template errors refuse a profile; unknown names are warnings", async () => {
  assert.deepEqual(
    await profileProblems({
      ...agentJson({ greeting: "Hi {{#from}}there" }),
      instructions: "Help.\n{{#customerName}}Dear {{customerName}}.",
    }),
    [
      "assets/agents/sales/instructions.md: line 2: {{#customerName}} is never closed with " +
      "{{/customerName}}",
      `${AGENT}: greeting line 1: {{#from}} is never closed with {{/from}}`,
    ],
  );
  const profile = parseProfile({
    name: "sales",
    agentJson: JSON.stringify({ outboundParams: ["customerName"], greeting: "Hi {{nmae}}" }),
    instructions: "Dear {{customerName}}, from {{form}}.",
    toolsJson: null,
  });
  assert.deepEqual(profileWarnings(profile), [
    "assets/agents/sales/instructions.md: line 1: {{form}} is not a call variable (from, to, " +
    "callSid, direction, agent) nor declared in agent.json's outboundParams, so it renders as nothing",
    `${AGENT}: greeting line 1: {{nmae}} is not a call variable (from, to, callSid, direction, ` +
    "agent) nor declared in agent.json's outboundParams, so it renders as nothing",
  ]);
});

Deno.test("the shipped profiles have no template warnings", async () => {
  for (const profile of (await loadProfiles(AGENTS_DIR)).values()) {
    assert.deepEqual(profileWarnings(profile, AGENTS_DIR), [], profile.name);
  }
});
