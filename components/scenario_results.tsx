/**
 * A scenario's run as the scenarios pages show it: pass, fail or error, each check with its
 * verdict (a judged check with the judge's reason), when and against what it ran, and a link to
 * the call's transcript. Server-only.
 */

import type { Scenario } from "../lib/scenarios/scenario.ts";
import type { ScenarioResult } from "../lib/scenarios/scenario_runs.ts";
import { formatTime } from "./format.ts";

const MARK = { pass: "✓", fail: "✗", error: "!" } as const;

/** One scenario's run: its verdict, its checks and its transcript's link. */
export function ScenarioRun({ result }: { result: ScenarioResult }) {
  return (
    <div
      class={`scenario-run ${result.status}`}
      data-scenario={result.scenario}
      data-status={result.status}
    >
      <p>
        <strong class={result.status === "pass" ? "ok" : "bad"}>
          {`${MARK[result.status]} ${result.status}`}
        </strong>{" "}
        <span class="muted">
          {`${formatTime(result.startedAt)}, ${(result.durationMs / 1000).toFixed(1)} s, against ${
            result.version === "edit" ? "an unsaved edit" : "the saved version"
          }`}
        </span>{" "}
        {result.callSid
          ? <a href={`/calls/${result.callSid}`} data-action="transcript">transcript</a>
          : null}
      </p>
      {result.error ? <p class="bad" data-error>{result.error}</p> : null}
      {result.checks.length
        ? (
          <ul class="checks">
            {result.checks.map((check, i) => (
              <li key={i} data-check-status={check.status} data-check-type={check.type}>
                <span class={check.status === "pass" ? "ok" : "bad"}>{MARK[check.status]}</span>
                {` ${check.name}`}
                <span class="muted">{` — ${check.detail}`}</span>
              </li>
            ))}
          </ul>
        )
        : null}
    </div>
  );
}

/** What a scenario is: its caller and its checks' names. */
export function ScenarioSummary({ scenario }: { scenario: Scenario }) {
  const caller = scenario.caller.kind === "scripted"
    ? `scripted, ${scenario.caller.turns.length} turn${
      scenario.caller.turns.length === 1 ? "" : "s"
    }`
    : `played by a model, at most ${scenario.caller.maxTurns} turns: ${scenario.caller.goal}`;
  return (
    <div>
      {scenario.description ? <p>{scenario.description}</p> : null}
      <p class="muted">
        {`Caller: ${caller}. Checks: ${scenario.checks.map((c) => c.name).join("; ")}.`}
      </p>
    </div>
  );
}
