/**
 * Cost from the price table: text and cached tokens, a Realtime model's audio, snapshots priced
 * as their model, unknown models unpriced; overrides from MODEL_PRICES and MODEL_PRICES_FILE,
 * with config problems naming the variable; dollars shown to four significant digits.
 */

import assert from "node:assert/strict";
import {
  addUsage,
  BUILTIN_PRICES,
  costUsd,
  formatUsd,
  loadPriceTable,
  NO_USAGE,
  priceOf,
  type TokenUsage,
} from "./model_prices.ts";
import { ConfigError, loadConfig } from "./config.ts";

const usage = (fields: Partial<TokenUsage>): TokenUsage => ({ ...NO_USAGE, ...fields });

Deno.test("text tokens: fresh input, cached input and output each at their price", () => {
  // gpt-4.1-mini: 0.40 in, 0.10 cached, 1.60 out per 1M.
  const cost = costUsd(BUILTIN_PRICES, "gpt-4.1-mini", usage({ input: 1798, output: 62 }));
  assert.equal(cost, (1798 * 0.4 + 62 * 1.6) / 1e6);
  const cached = costUsd(
    BUILTIN_PRICES,
    "gpt-4.1-mini",
    usage({ input: 1000, cachedInput: 800, output: 0 }),
  );
  assert.equal(cached, (200 * 0.4 + 800 * 0.1) / 1e6);
});

Deno.test("a Realtime model: audio and text tokens at their own prices", () => {
  const cost = costUsd(
    BUILTIN_PRICES,
    "gpt-realtime",
    usage({ input: 100, output: 10, audioInput: 500, cachedAudioInput: 200, audioOutput: 300 }),
  );
  const text = (100 * 4 + 10 * 16) / 1e6;
  const audio = (300 * 32 + 200 * 0.4 + 300 * 64) / 1e6;
  assert.ok(Math.abs(cost! - (text + audio)) < 1e-15, `${cost} ≠ ${text + audio}`);
});

Deno.test("a dated snapshot is priced as its model; an unknown model has no cost", () => {
  assert.equal(priceOf(BUILTIN_PRICES, "gpt-4.1-mini-2025-04-14"), BUILTIN_PRICES["gpt-4.1-mini"]);
  assert.equal(priceOf(BUILTIN_PRICES, "gpt-4.1-2025-04-14"), BUILTIN_PRICES["gpt-4.1"]);
  assert.equal(priceOf(BUILTIN_PRICES, "gpt-4.10"), null, "a prefix must end at a dash");
  assert.equal(costUsd(BUILTIN_PRICES, "my-local-model", usage({ input: 10 })), null);
  // Audio tokens on a model priced for text only: unknown, not free.
  assert.equal(costUsd(BUILTIN_PRICES, "gpt-4o", usage({ audioInput: 10 })), null);
});

Deno.test("MODEL_PRICES overrides the built-in table model by model", () => {
  const problems: string[] = [];
  const table = loadPriceTable({
    MODEL_PRICES: JSON.stringify({
      "gpt-4.1-mini": { input: 1, cachedInput: 0.5, output: 2 },
      "house-model": { input: 3, cachedInput: 3, output: 3 },
    }),
  }, problems);
  assert.deepEqual(problems, []);
  assert.equal(costUsd(table, "gpt-4.1-mini", usage({ input: 1e6, output: 1e6 })), 3);
  assert.equal(costUsd(table, "house-model", usage({ output: 1e6 })), 3);
  assert.deepEqual(table["gpt-4.1"], BUILTIN_PRICES["gpt-4.1"], "the rest stays built in");
});

Deno.test("MODEL_PRICES_FILE is read from its path; a missing one is a problem", async () => {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(
      path,
      JSON.stringify({
        "gpt-realtime": {
          input: 1,
          cachedInput: 1,
          output: 1,
          audio: { input: 2, cachedInput: 2, output: 2 },
        },
      }),
    );
    const problems: string[] = [];
    const table = loadPriceTable({ MODEL_PRICES_FILE: path }, problems);
    assert.deepEqual(problems, []);
    assert.equal(costUsd(table, "gpt-realtime", usage({ audioOutput: 1e6, output: 1e6 })), 3);
  } finally {
    await Deno.remove(path);
  }
  const problems: string[] = [];
  assert.equal(loadPriceTable({ MODEL_PRICES_FILE: `${path}.gone` }, problems), BUILTIN_PRICES);
  assert.equal(problems.length, 1);
  assert.match(problems[0], /^MODEL_PRICES_FILE cannot be read: ".*\.gone" \(NotFound\)$/);
});

Deno.test("a bad override is a problem naming the variable, the model and the field", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ MODEL_PRICES: "{" }, /^MODEL_PRICES must be JSON/],
    [{ MODEL_PRICES: "[]" }, /^MODEL_PRICES must be a JSON object of models/],
    [
      { MODEL_PRICES: '{"m": {"input": 1, "cachedInput": 1, "output": -1}}' },
      /^MODEL_PRICES: m\.output must be a number of at least 0 \(USD per 1M tokens; got -1\)$/,
    ],
    [
      { MODEL_PRICES: '{"m": {"input": 1, "output": 1}}' },
      /^MODEL_PRICES: m\.cachedInput must be a number of at least 0 .*got nothing\)$/,
    ],
    [
      { MODEL_PRICES: '{"m": {"input": 1, "cachedInput": 1, "output": 1, "audio": 5}}' },
      /^MODEL_PRICES: m\.audio must be an object \{input, cachedInput, output\}/,
    ],
    [
      { MODEL_PRICES: '{"m": {"input": 1, "cachedInput": 1, "output": 1, "outptu": 1}}' },
      /^MODEL_PRICES: m\.outptu is not a known field/,
    ],
    [{ MODEL_PRICES: "{}", MODEL_PRICES_FILE: "x.json" }, /must not both be set/],
    [{ MODEL_PRICES: '{"m": null}' }, /^MODEL_PRICES: m must be an object \{input, cachedInput/],
    [
      // JSON's 1e999 parses as Infinity: a price every cost would show as "—".
      { MODEL_PRICES: '{"m": {"input": 1e999, "cachedInput": 1, "output": 1}}' },
      /^MODEL_PRICES: m\.input must be a number of at least 0/,
    ],
    [
      // One problem per model, the first found: its bad price, not also its unknown field.
      { MODEL_PRICES: '{"m": {"input": -1, "cachedInput": 1, "output": 1, "outptu": 1}}' },
      /^MODEL_PRICES: m\.input must be a number of at least 0 .*got -1\)$/,
    ],
  ];
  for (const [env, expected] of cases) {
    const problems: string[] = [];
    assert.equal(loadPriceTable(env, problems, () => "{}"), BUILTIN_PRICES, JSON.stringify(env));
    assert.equal(problems.length, 1, JSON.stringify(problems));
    assert.match(problems[0], expected);
  }
  const problems: string[] = [];
  loadPriceTable({ MODEL_PRICES_FILE: "/p.json" }, problems, () => '{"m": 1}');
  assert.match(problems[0], /^MODEL_PRICES_FILE \(\/p\.json\): m must be an object/);
});

Deno.test("dollars to four significant digits", () => {
  // The call that used to show "$0.0000": 1,798 in and 62 out on gpt-4.1-mini.
  const cost = costUsd(BUILTIN_PRICES, "gpt-4.1-mini", usage({ input: 1798, output: 62 }));
  assert.equal(formatUsd(cost), "$0.0008184");
  assert.equal(formatUsd(12.34567), "$12.35");
  assert.equal(formatUsd(1.5), "$1.500");
  assert.equal(formatUsd(1234.5), "$1,235");
  assert.equal(formatUsd(0), "$0.000");
  assert.equal(formatUsd(null), "—");
  assert.equal(formatUsd(Number.NaN), "—");
  assert.equal(formatUsd(Number.POSITIVE_INFINITY), "—");
});

Deno.test("a price of 0 is a price (a free model), not a problem", () => {
  const problems: string[] = [];
  const table = loadPriceTable({
    MODEL_PRICES: JSON.stringify({ "free-model": { input: 0, cachedInput: 0, output: 0 } }),
  }, problems);
  assert.deepEqual(problems, []);
  assert.equal(costUsd(table, "free-model", usage({ input: 10, output: 10 })), 0);
});

Deno.test("a bad MODEL_PRICES stops start-up with a config error naming it", () => {
  assert.throws(
    () => loadConfig({ MODEL_PRICES: '{"gpt-4.1": {"input": "cheap"}}' }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems, [
        "MODEL_PRICES: gpt-4.1.input must be a number of at least 0 " +
        '(USD per 1M tokens; got "cheap")',
      ]);
      return true;
    },
  );
  const config = loadConfig({
    MODEL_PRICES: '{"house": {"input": 1, "cachedInput": 1, "output": 1}}',
  });
  assert.deepEqual(config.openai.prices.house, { input: 1, cachedInput: 1, output: 1 });
  assert.equal(loadConfig({}).openai.prices, BUILTIN_PRICES);
});

Deno.test("usage adds up field by field; a field the other side lacks counts 0", () => {
  const a: TokenUsage = {
    input: 1,
    cachedInput: 2,
    output: 3,
    audioInput: 4,
    cachedAudioInput: 5,
    audioOutput: 6,
  };
  assert.deepEqual(addUsage(a, { ...a }), {
    input: 2,
    cachedInput: 4,
    output: 6,
    audioInput: 8,
    cachedAudioInput: 10,
    audioOutput: 12,
  });
  assert.deepEqual(addUsage(a, {}), a);
  assert.deepEqual(addUsage(NO_USAGE, { output: 7 }), { ...NO_USAGE, output: 7 });
});

Deno.test("a snapshot is priced as the longest model name it starts with", () => {
  const table = {
    "m": { input: 1, cachedInput: 1, output: 1 },
    "m-mini": { input: 2, cachedInput: 2, output: 2 },
  };
  assert.equal(priceOf(table, "m-mini-2025"), table["m-mini"]);
  assert.equal(priceOf(table, "m-2025"), table["m"]);
  assert.equal(
    priceOf({ "m-mini": table["m-mini"], "m": table["m"] }, "m-mini-x"),
    table["m-mini"],
  );
});

Deno.test("cost: cached beyond the input is not negative; an audio price unused adds nothing", () => {
  const table = {
    "m": {
      input: 10,
      cachedInput: 1,
      output: 100,
      audio: { input: 1000, cachedInput: 1000, output: 1000 },
    },
  };
  assert.equal(costUsd(table, "m", usage({ input: 5, cachedInput: 8 })), (8 * 1) / 1e6);
  assert.equal(costUsd(table, "m", usage({ input: 3, output: 2 })), (3 * 10 + 2 * 100) / 1e6);
  assert.equal(
    costUsd(table, "m", usage({ audioOutput: 1 })),
    1000 / 1e6,
    "audio output alone is audio used",
  );
});

Deno.test("the built-in table: OpenAI's list prices in USD per 1M tokens", () => {
  // From each model's page at developers.openai.com/api/docs/models (text, then audio tokens).
  const text = (input: number, cachedInput: number, output: number) => ({
    input,
    cachedInput,
    output,
  });
  assert.deepEqual(BUILTIN_PRICES, {
    "gpt-4.1": text(2, 0.5, 8),
    "gpt-4.1-mini": text(0.4, 0.1, 1.6),
    "gpt-4.1-nano": text(0.1, 0.025, 0.4),
    "gpt-4o": text(2.5, 1.25, 10),
    "gpt-4o-mini": text(0.15, 0.075, 0.6),
    "gpt-5": text(1.25, 0.125, 10),
    "gpt-5-mini": text(0.25, 0.025, 2),
    "gpt-5-nano": text(0.05, 0.005, 0.4),
    "o3": text(2, 0.5, 8),
    "o4-mini": text(1.1, 0.275, 4.4),
    "gpt-realtime": { ...text(4, 0.4, 16), audio: text(32, 0.4, 64) },
    "gpt-realtime-mini": { ...text(0.6, 0.06, 2.4), audio: text(10, 0.3, 20) },
    "gpt-4o-realtime-preview": { ...text(5, 2.5, 20), audio: text(40, 2.5, 80) },
    "gpt-4o-mini-realtime-preview": { ...text(0.6, 0.3, 2.4), audio: text(10, 0.3, 20) },
  });
});

Deno.test("cost: text-only usage on a Realtime model is its text price alone", () => {
  const cost = costUsd(BUILTIN_PRICES, "gpt-realtime-mini", usage({ input: 1e6, output: 1e6 }));
  assert.equal(cost, 0.6 + 2.4);
  assert.equal(costUsd(BUILTIN_PRICES, "gpt-4o", usage({ audioOutput: 1 })), null);
});
