/**
 * A strict reader of the Prometheus text exposition format (0.0.4), for tests of `/metrics`:
 * every line is empty (ignored by the format), a `# HELP` or `# TYPE` comment, or a sample
 * `name{label="value",...} value` with no timestamp. Each sample belongs to a family whose
 * `# TYPE` came first; histograms have cumulative buckets ending in `+Inf` = `_count`; no sample
 * is repeated. Throws naming the first line that breaks a rule.
 */

/** One sample line, its labels unescaped. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed exposition: the families' types and every sample, in order. */
export interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
  /** The value of the sample `name` with exactly `labels` (in any order), if there is one. */
  value(name: string, labels?: Record<string, string>): number | undefined;
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
const VALUE = "-?(?:\\d+(?:\\.\\d+)?|\\.\\d+)(?:[eE][+-]?\\d+)?|[+-]Inf|NaN";
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(${LABEL}(?:,${LABEL})*)?\\})? (${VALUE})$`);
const COMMENT = new RegExp(`^# (HELP|TYPE) (${NAME})(?: (.*))?$`);
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

/** Parses `text` as Prometheus exposition format, line by line; throws on the first bad line. */
export function parsePrometheusText(text: string): Exposition {
  if (!text.endsWith("\n")) throw new Error("the exposition does not end with a newline");
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  const seen = new Set<string>();
  const buckets = new Map<string, { le: number; value: number }[]>();
  const counts = new Map<string, number>();
  const lines = text.slice(0, -1).split("\n");
  lines.forEach((line, i) => {
    const fail = (why: string): never => {
      throw new Error(`line ${i + 1} ${why}: ${JSON.stringify(line)}`);
    };
    if (line === "") return;
    const comment = COMMENT.exec(line);
    if (comment) {
      const [, kind, name, rest = ""] = comment;
      if (kind === "HELP") {
        if (helps.has(name)) fail("repeats a HELP");
        if (types.has(name)) fail("has its HELP after its TYPE");
        helps.add(name);
      } else {
        if (!TYPES.has(rest)) fail("names no known type");
        if (types.has(name)) fail("repeats a TYPE");
        types.set(name, rest);
      }
      return;
    }
    if (line.startsWith("#")) fail("is a comment that is neither HELP nor TYPE");
    const match = SAMPLE.exec(line);
    if (!match) fail("is not `name{labels} value`");
    const [, name, labelText = "", valueText] = match!;
    const labels: Record<string, string> = {};
    for (
      const [, key, raw] of labelText.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)
    ) {
      if (key in labels) fail(`repeats the label ${key}`);
      labels[key] = raw.replace(/\\(.)/g, (_, c) => c === "n" ? "\n" : c);
    }
    const value = valueText === "NaN" ? NaN : Number(valueText.replace("Inf", "Infinity"));
    const family = familyOf(name, types);
    if (!family) fail("is a sample of no family with a TYPE before it");
    const key = sampleKey(name, labels);
    if (seen.has(key)) fail("repeats a sample");
    seen.add(key);
    if (types.get(family!) === "counter" && !(value >= 0)) fail("is a negative counter");
    if (types.get(family!) === "histogram") {
      const { le, ...rest } = labels;
      const series = sampleKey(family!, rest);
      if (name.endsWith("_bucket")) {
        if (le === undefined) fail("is a bucket without le");
        const list = buckets.get(series) ?? [];
        const bound = Number(le.replace("Inf", "Infinity"));
        const last = list.at(-1);
        if (last && (bound <= last.le || value < last.value)) fail("breaks the bucket order");
        list.push({ le: bound, value });
        buckets.set(series, list);
      } else if (name.endsWith("_count")) counts.set(series, value);
    }
    samples.push({ name, labels, value });
  });
  for (const [series, list] of buckets) {
    const inf = list.at(-1);
    if (inf?.le !== Infinity) throw new Error(`${series} has no +Inf bucket`);
    if (counts.get(series) !== inf.value) throw new Error(`${series}: +Inf bucket ≠ _count`);
  }
  return {
    types,
    samples,
    value(name, labels = {}) {
      const key = sampleKey(name, labels);
      return samples.find((s) => sampleKey(s.name, s.labels) === key)?.value;
    },
  };
}

/** The family a sample belongs to: its own name, or a histogram's/summary's for the suffixes. */
function familyOf(name: string, types: Map<string, string>): string | undefined {
  if (types.has(name)) return name;
  const suffix = /_(bucket|sum|count)$/.exec(name);
  if (!suffix) return undefined;
  const base = name.slice(0, -suffix[0].length);
  const type = types.get(base);
  if (type === "histogram" || (type === "summary" && suffix[1] !== "bucket")) return base;
  return undefined;
}

function sampleKey(name: string, labels: Record<string, string>): string {
  const pairs = Object.entries(labels).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
  return JSON.stringify([name, pairs]);
}
