/**
 * The after-call parts of a profile's agent.json: `analysis` (summary instruction, outcome
 * labels, a JSON Schema of fields), `webhookUrl` and `record`. Besides agent.schema.json, the
 * `fields` schema must compile and be one strict structured outputs accept, so a schema the
 * API would refuse is refused when the profile is loaded or saved, not when a call ends.
 *
 * @module
 */

import { Ajv } from "ajv";
import { type AnalysisSpec, strictSchemaProblems } from "../records/call_analysis.ts";

/** The after-call settings of one profile. */
export interface AfterCallProfile {
  analysis: AnalysisSpec | null;
  /** null = `CALL_WEBHOOK_URL`. */
  webhookUrl: string | null;
  /** Twilio records the calls (two channels). */
  record: boolean;
}

type Json = Record<string, unknown>;

/** What agent.schema.json cannot say about `analysis`, each problem starting with `file`. */
export function analysisProblems(agent: unknown, file: string): string[] {
  const analysis = (agent as Json | null)?.analysis as Json | undefined;
  if (!analysis || typeof analysis !== "object") return [];
  const problems: string[] = [];
  const labels = Array.isArray(analysis.outcomes)
    ? analysis.outcomes.map((o) => (o as Json)?.label)
    : [];
  labels.forEach((label, i) => {
    if (typeof label === "string" && labels.indexOf(label) !== i) {
      problems.push(`${file}: analysis.outcomes[${i}].label "${label}" is used twice`);
    }
  });
  const fields = analysis.fields;
  if (fields !== undefined && fields !== null && typeof fields === "object") {
    try {
      new Ajv({ allowUnionTypes: true }).compile(fields as Json);
    } catch (err) {
      problems.push(
        `${file}: analysis.fields is not a JSON Schema that compiles (${
          (err as Error).message.slice(0, 200)
        })`,
      );
      return problems;
    }
    for (const problem of strictSchemaProblems(fields, "analysis.fields")) {
      problems.push(`${file}: ${problem}`);
    }
  }
  return problems;
}

/** The after-call settings of a valid agent.json. */
export function afterCallOf(agent: Json): AfterCallProfile {
  const raw = agent.analysis as
    | { summary: string; outcomes?: AnalysisSpec["outcomes"]; fields?: Json }
    | undefined;
  return {
    analysis: raw
      ? {
        summary: raw.summary,
        outcomes: (raw.outcomes ?? []).map(({ label, description }) => ({ label, description })),
        fields: raw.fields ?? null,
      }
      : null,
    webhookUrl: typeof agent.webhookUrl === "string" ? agent.webhookUrl : null,
    record: agent.record === true,
  };
}
