/**
 * Per-agent model settings: agent.json's `model`, `api`, `realtimeModel`, `temperature` and
 * `maxOutputTokens` are read into the profile, a bad value is a profile problem naming the
 * field, what a profile leaves out comes from the configuration, and the editor's form reads
 * and writes them.
 */

import assert from "node:assert/strict";
import { parseProfile, ProfileError } from "./agent_profile.ts";
import { realtimeModelOf, textModelOf } from "./model_settings.ts";
import { filesFromForm, formFromFiles, problemsByField } from "./profile_form.ts";

const AGENT = "assets/agents/sales/agent.json";
const DEFAULTS = { model: "gpt-4.1-mini", api: "chat" as const, realtimeModel: "gpt-realtime" };

function profileOf(agent: Record<string, unknown>) {
  return parseProfile({
    name: "sales",
    agentJson: JSON.stringify(agent),
    instructions: "Sell.",
    toolsJson: null,
  });
}

function problemsOf(agent: Record<string, unknown>): string[] {
  try {
    profileOf(agent);
  } catch (err) {
    if (err instanceof ProfileError) return err.problems;
    throw err;
  }
  return assert.fail("the profile was accepted");
}

Deno.test("an agent's own model settings are used; what it leaves out is the config's", () => {
  const tuned = profileOf({
    model: "gpt-4.1",
    api: "responses",
    realtimeModel: "gpt-realtime-mini",
    temperature: 0.2,
    maxOutputTokens: 256,
  });
  assert.deepEqual(textModelOf(tuned, DEFAULTS), {
    model: "gpt-4.1",
    api: "responses",
    temperature: 0.2,
    maxOutputTokens: 256,
  });
  assert.deepEqual(realtimeModelOf(tuned, DEFAULTS), {
    model: "gpt-realtime-mini",
    maxOutputTokens: 256,
  });
  const plain = profileOf({});
  assert.deepEqual(textModelOf(plain, DEFAULTS), {
    model: "gpt-4.1-mini",
    api: "chat",
    temperature: null,
    maxOutputTokens: null,
  });
  assert.deepEqual(realtimeModelOf(plain, DEFAULTS), {
    model: "gpt-realtime",
    maxOutputTokens: null,
  });
  assert.equal(profileOf({ maxOutputTokens: "inf" }).maxOutputTokens, "inf");
});

Deno.test("a bad model setting is a profile problem naming the field", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ api: "completions" }, 'api must be one of chat, responses (got "completions")'],
    [{ model: "" }, 'model must be a model name like "gpt-4.1-mini" (got "")'],
    [{ model: "gpt 4" }, 'model must be a model name like "gpt-4.1-mini" (got "gpt 4")'],
    [{ realtimeModel: 4 }, "realtimeModel must be a string (got number)"],
    [{ temperature: 2.5 }, "temperature must be a number from 0 to 2 (got 2.5)"],
    [{ temperature: "warm" }, 'temperature must be a number from 0 to 2 (got "warm")'],
    [
      { maxOutputTokens: 8 },
      'maxOutputTokens must be a whole number from 16 to 4096 or "inf" (got 8)',
    ],
    [
      { maxOutputTokens: 5000 },
      'maxOutputTokens must be a whole number from 16 to 4096 or "inf" (got 5000)',
    ],
    [
      { maxOutputTokens: 100.5 },
      'maxOutputTokens must be a whole number from 16 to 4096 or "inf" (got 100.5)',
    ],
    [
      { maxOutputTokens: "max" },
      'maxOutputTokens must be a whole number from 16 to 4096 or "inf" (got "max")',
    ],
    [
      { model: "o4-mini", temperature: 0.5 },
      "temperature is not supported by reasoning models (o-series, gpt-5); leave it unset " +
      "(got 0.5)",
    ],
    [
      { model: "gpt-5-mini", temperature: 1 },
      "temperature is not supported by reasoning models (o-series, gpt-5); leave it unset " +
      "(got 1)",
    ],
  ];
  for (const [agent, problem] of cases) {
    assert.deepEqual(problemsOf(agent), [`${AGENT}: ${problem}`], JSON.stringify(agent));
  }
  // A chat variant of gpt-5 and a non-reasoning model take a temperature.
  assert.equal(profileOf({ model: "gpt-5-chat-latest", temperature: 0.5 }).temperature, 0.5);
  assert.equal(profileOf({ model: "gpt-4o", temperature: 0 }).temperature, 0);
});

Deno.test("the editor's form reads and writes the model settings", () => {
  const files = {
    agentJson: JSON.stringify({ greeting: "Hi", model: "gpt-4.1", maxOutputTokens: "inf" }),
    instructions: "Sell.",
    toolsJson: null,
  };
  const form = formFromFiles(files);
  assert.equal(form.model, "gpt-4.1");
  assert.equal(form.maxOutputTokens, "inf");
  assert.equal(form.temperature, "");
  const edited = filesFromForm(files, {
    ...form,
    model: "",
    api: "responses",
    realtimeModel: " gpt-realtime-mini ",
    temperature: "0.7",
    maxOutputTokens: "300",
  });
  assert.deepEqual(JSON.parse(edited.agentJson), {
    greeting: "Hi",
    api: "responses",
    realtimeModel: "gpt-realtime-mini",
    temperature: 0.7,
    maxOutputTokens: 300,
  });
  // A number field given text keeps it as text, so the problem names the field on the form.
  const bad = filesFromForm(files, { ...form, temperature: "hot" });
  assert.equal(JSON.parse(bad.agentJson).temperature, "hot");
  const problems = problemsOf(JSON.parse(bad.agentJson));
  assert.deepEqual(Object.keys(problemsByField(problems)), ["temperature"]);
});
