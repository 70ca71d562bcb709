/**
 * Shared by the after-call tests: a profile folder whose `clinic` agent has an analysis, and
 * waiting for a record's analysis to land.
 */

import { eventually } from "./relay_harness.ts";
import type { CallRecord, CallStore } from "../../lib/records/call_store.ts";

/** The extraction schema of the test profile (strict: all required, nullable when unknown). */
export const FIELDS = {
  type: "object",
  additionalProperties: false,
  required: ["name", "day"],
  properties: {
    name: { type: ["string", "null"], description: "The caller's name" },
    day: { type: ["string", "null"], description: "The day booked" },
  },
};

/** A profile folder: `default`, and `clinic` with an analysis (and `extra` agent.json fields). */
export async function agentsWithAnalysis(extra: Record<string, unknown> = {}): Promise<string> {
  const dir = await Deno.makeTempDir();
  for (const name of ["default", "clinic"]) {
    await Deno.mkdir(`${dir}/${name}`);
    await Deno.writeTextFile(`${dir}/${name}/instructions.md`, `You are ${name}.`);
  }
  await Deno.writeTextFile(`${dir}/default/agent.json`, JSON.stringify({ greeting: "" }));
  await Deno.writeTextFile(`${dir}/clinic/tools.json`, JSON.stringify(["end_call"]));
  await Deno.writeTextFile(
    `${dir}/clinic/agent.json`,
    JSON.stringify({
      greeting: "",
      analysis: {
        summary: "One sentence: what the caller wanted.",
        outcomes: [
          { label: "booked", description: "An appointment was booked." },
          { label: "no-booking", description: "Nothing was booked." },
        ],
        fields: FIELDS,
      },
      ...extra,
    }),
  );
  return dir;
}

/** Resolves with the record of `callSid` once its analysis is stored. */
export async function analysedRecord(store: CallStore, callSid: string): Promise<CallRecord> {
  let record: CallRecord | undefined;
  await eventually(async () => {
    record = (await store.findBySid(callSid))[0];
    return Boolean(record?.analysis);
  }, `the analysis of ${callSid}`);
  return record!;
}
