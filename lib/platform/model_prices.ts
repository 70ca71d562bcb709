/**
 * What a call's tokens cost: a price table per model (US dollars per million tokens, input,
 * cached input and output, with separate audio prices for Realtime models), the built-in table
 * of current OpenAI models, its overrides from `MODEL_PRICES` (JSON) or `MODEL_PRICES_FILE` (the
 * path of a JSON file), and the cost of a usage in dollars shown to four significant digits.
 *
 * A model is priced by its exact name, else by the longest table name it starts with followed by
 * `-` (a dated snapshot such as `gpt-4.1-mini-2025-04-14` is priced as `gpt-4.1-mini`). A model
 * the table does not know has no cost (null), rather than a made-up one.
 *
 * @module
 */

/** Dollars per million tokens of one modality. */
export interface TokenPrices {
  input: number;
  cachedInput: number;
  output: number;
}

/** One model's prices: text, and audio for a Realtime model. */
export interface ModelPrice extends TokenPrices {
  audio?: TokenPrices;
}

/** Prices by model name. */
export type PriceTable = Readonly<Record<string, ModelPrice>>;

/**
 * Tokens of one or more responses. `input` and `audioInput` include their cached parts;
 * text-only paths leave the audio counts at 0.
 */
export interface TokenUsage {
  input: number;
  cachedInput: number;
  output: number;
  audioInput: number;
  cachedAudioInput: number;
  audioOutput: number;
}

/** A usage of no tokens. */
export const NO_USAGE: Readonly<TokenUsage> = {
  input: 0,
  cachedInput: 0,
  output: 0,
  audioInput: 0,
  cachedAudioInput: 0,
  audioOutput: 0,
};

/** OpenAI's list prices (USD per 1M tokens) of the models a call may use; override for others. */
export const BUILTIN_PRICES: PriceTable = {
  "gpt-4.1": { input: 2, cachedInput: 0.5, output: 8 },
  "gpt-4.1-mini": { input: 0.4, cachedInput: 0.1, output: 1.6 },
  "gpt-4.1-nano": { input: 0.1, cachedInput: 0.025, output: 0.4 },
  "gpt-4o": { input: 2.5, cachedInput: 1.25, output: 10 },
  "gpt-4o-mini": { input: 0.15, cachedInput: 0.075, output: 0.6 },
  "gpt-5": { input: 1.25, cachedInput: 0.125, output: 10 },
  "gpt-5-mini": { input: 0.25, cachedInput: 0.025, output: 2 },
  "gpt-5-nano": { input: 0.05, cachedInput: 0.005, output: 0.4 },
  "o3": { input: 2, cachedInput: 0.5, output: 8 },
  "o4-mini": { input: 1.1, cachedInput: 0.275, output: 4.4 },
  "gpt-realtime": {
    input: 4,
    cachedInput: 0.4,
    output: 16,
    audio: { input: 32, cachedInput: 0.4, output: 64 },
  },
  "gpt-realtime-mini": {
    input: 0.6,
    cachedInput: 0.06,
    output: 2.4,
    audio: { input: 10, cachedInput: 0.3, output: 20 },
  },
  "gpt-4o-realtime-preview": {
    input: 5,
    cachedInput: 2.5,
    output: 20,
    audio: { input: 40, cachedInput: 2.5, output: 80 },
  },
  "gpt-4o-mini-realtime-preview": {
    input: 0.6,
    cachedInput: 0.3,
    output: 2.4,
    audio: { input: 10, cachedInput: 0.3, output: 20 },
  },
};

/** The prices of `model`: by its exact name, else by the longest name it is a snapshot of. */
export function priceOf(table: PriceTable, model: string): ModelPrice | null {
  if (Object.hasOwn(table, model)) return table[model];
  let best: string | null = null;
  for (const name of Object.keys(table)) {
    if (model.startsWith(`${name}-`) && (best === null || name.length > best.length)) best = name;
  }
  return best === null ? null : table[best];
}

/** Dollars of `usage` on `model`; null when the table has no (audio) price for what was used. */
export function costUsd(table: PriceTable, model: string, usage: TokenUsage): number | null {
  const price = priceOf(table, model);
  if (!price) return null;
  const part = (p: TokenPrices, input: number, cached: number, output: number) =>
    (Math.max(0, input - cached) * p.input + cached * p.cachedInput + output * p.output) / 1e6;
  const text = part(price, usage.input, usage.cachedInput, usage.output);
  if (usage.audioInput + usage.audioOutput <= 0) return text;
  // Audio tokens on a model priced for text only: unknown, not free.
  if (!price.audio) return null;
  return text + part(price.audio, usage.audioInput, usage.cachedAudioInput, usage.audioOutput);
}

/** The sum of two usages. */
export function addUsage(a: TokenUsage, b: Partial<TokenUsage>): TokenUsage {
  return {
    input: a.input + (b.input ?? 0),
    cachedInput: a.cachedInput + (b.cachedInput ?? 0),
    output: a.output + (b.output ?? 0),
    audioInput: a.audioInput + (b.audioInput ?? 0),
    cachedAudioInput: a.cachedAudioInput + (b.cachedAudioInput ?? 0),
    audioOutput: a.audioOutput + (b.audioOutput ?? 0),
  };
}

const USD = new Intl.NumberFormat("en-US", {
  style: "currency",
  currency: "USD",
  minimumSignificantDigits: 4,
  maximumSignificantDigits: 4,
});

/** Dollars to four significant digits (`$0.0008184`, `$12.35`); "—" when unknown. */
export function formatUsd(usd: number | null): string {
  if (usd === null || !Number.isFinite(usd)) return "—";
  return USD.format(usd);
}

/** Where the table's overrides are read from (environment variable names). */
const INLINE = "MODEL_PRICES";
const FILE = "MODEL_PRICES_FILE";

/**
 * The built-in table with the overrides of `MODEL_PRICES` or `MODEL_PRICES_FILE` (not both) on
 * top, model by model; each problem (naming the variable, the model and the field) is added to
 * `problems`.
 */
export function loadPriceTable(
  env: Record<string, string | undefined>,
  problems: string[],
  readFile: (path: string) => string = Deno.readTextFileSync,
): PriceTable {
  const inline = env[INLINE]?.trim();
  const path = env[FILE]?.trim();
  if (inline && path) {
    problems.push(`${INLINE} and ${FILE} must not both be set (one table of overrides)`);
    return BUILTIN_PRICES;
  }
  if (!inline && !path) return BUILTIN_PRICES;
  const source = inline ? INLINE : `${FILE} (${path})`;
  let text: string;
  try {
    text = inline ?? readFile(path!);
  } catch (err) {
    problems.push(`${FILE} cannot be read: "${path}" (${(err as Error).name})`);
    return BUILTIN_PRICES;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    problems.push(`${source} must be JSON (${(err as Error).message})`);
    return BUILTIN_PRICES;
  }
  const overrides = priceOverrides(raw, source, problems);
  return overrides ? { ...BUILTIN_PRICES, ...overrides } : BUILTIN_PRICES;
}

/** The overrides in `raw` (`{"model": {input, cachedInput, output, audio?}}`), or null if wrong. */
function priceOverrides(raw: unknown, source: string, problems: string[]): PriceTable | null {
  if (!isObject(raw)) {
    problems.push(`${source} must be a JSON object of models, e.g. {"gpt-4.1-mini": {…}}`);
    return null;
  }
  const before = problems.length;
  const table: Record<string, ModelPrice> = {};
  for (const [model, entry] of Object.entries(raw)) {
    const prices = tokenPrices(entry, `${source}: ${model}`, problems);
    if (!prices || !isObject(entry)) continue;
    const extra = Object.keys(entry).filter((k) =>
      !["input", "cachedInput", "output", "audio"]
        .includes(k)
    );
    if (extra.length) {
      problems.push(`${source}: ${model}.${extra[0]} is not a known field (input, cachedInput, \
output, audio)`);
      continue;
    }
    const audio = entry.audio === undefined
      ? undefined
      : tokenPrices(entry.audio, `${source}: ${model}.audio`, problems);
    // A bad audio price added its problem: the whole table is refused below.
    table[model] = audio ? { ...prices, audio } : prices;
  }
  return problems.length > before ? null : table;
}

/** `{input, cachedInput, output}` of non-negative numbers, or null with the problem added. */
function tokenPrices(raw: unknown, at: string, problems: string[]): TokenPrices | null {
  if (!isObject(raw)) {
    problems.push(`${at} must be an object {input, cachedInput, output} in USD per 1M tokens`);
    return null;
  }
  for (const key of ["input", "cachedInput", "output"] as const) {
    const value = raw[key];
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      problems.push(
        `${at}.${key} must be a number of at least 0 (USD per 1M tokens; got ${
          JSON.stringify(value) ?? "nothing"
        })`,
      );
      return null;
    }
  }
  return {
    input: raw.input as number,
    cachedInput: raw.cachedInput as number,
    output: raw.output as number,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
