/**
 * Runs one scenario: a real ConversationRelay call on the target, the caller played from its
 * script or by the caller model, then every check against what the call's record showed — the
 * deterministic ones here, the judged ones by the judge model.
 *
 * A scenario **fails** when a check fails; it is an **error** when it could not be judged: a
 * model of the run failed (the caller's, the judge's, or the agent's own on a turn), the agent did
 * not answer in time, or the call could not start. {@link runScenarios} runs several one after
 * another, and an error in one does not stop the others.
 *
 * @module
 */

import type { ProfileFiles } from "../agents/profile_store.ts";
import { withTimeout } from "../platform/deadline.ts";
import type { Scenario, ScriptedTurn } from "./scenario.ts";
import { callForJudge, type CallObservation, evaluateCheck } from "./scenario_checks.ts";
import {
  callerMove,
  type ConversationLine,
  judge,
  type ScenarioModels,
} from "./scenario_models.ts";
import { RelayLine } from "./relay_line.ts";
import type { ScenarioResult } from "./scenario_runs.ts";
import type { ScenarioTarget } from "./scenario_target.ts";

/** What a run needs. */
export interface RunOptions {
  target: ScenarioTarget;
  /** The caller and judge models; null: no OPENAI_API_KEY (such scenarios are errors). */
  models: ScenarioModels | null;
  /** Run against these files instead of the live version. */
  draft?: ProfileFiles | null;
  /** Longest wait for the agent's answer, and for the record after the call. */
  timeoutMs?: number;
}

/** Told as a run goes (the CLI's progress lines, the page's stream). */
export interface RunProgress {
  started?(scenario: Scenario): void;
  finished?(result: ScenarioResult): void;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** End reasons of a call whose agent could not take part: the run says nothing of the agent. */
const BROKEN_ENDS = new Set([
  "not-configured",
  "setup-failed",
  "llm-unavailable",
  "unauthenticated",
]);

/** Runs `scenarios` one after another; each result is told as it comes. */
export async function runScenarios(
  scenarios: readonly Scenario[],
  options: RunOptions,
  progress: RunProgress = {},
): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  for (const scenario of scenarios) {
    progress.started?.(scenario);
    const result = await runScenario(scenario, options);
    results.push(result);
    progress.finished?.(result);
  }
  return results;
}

/** Runs one scenario; never throws (what goes wrong is the result's `error`). */
export async function runScenario(
  scenario: Scenario,
  options: RunOptions,
): Promise<ScenarioResult> {
  const startedAt = Date.now();
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const result: ScenarioResult = {
    agent: scenario.agent,
    scenario: scenario.name,
    description: scenario.description,
    status: "error",
    checks: [],
    error: null,
    callSid: null,
    version: options.draft ? "edit" : "saved",
    startedAt,
    durationMs: 0,
  };
  const needsModels = scenario.caller.kind === "model" ||
    scenario.checks.some((c) => c.type === "judged");
  if (needsModels && !options.models) {
    result.error = "OPENAI_API_KEY is not set: the caller or judge model cannot be asked";
    return result;
  }
  try {
    const observed = await converse(scenario, options, timeoutMs, (sid) => result.callSid = sid);
    if (observed.failedTurns > 0) {
      throw new Error(`the agent's model failed on ${observed.failedTurns} turn(s)`);
    }
    if (BROKEN_ENDS.has(observed.outcome)) {
      throw new Error(`the call ended ${observed.outcome}: the agent could not answer`);
    }
    for (const check of scenario.checks) {
      if (check.type !== "judged") {
        result.checks.push(evaluateCheck(check, observed));
        continue;
      }
      const verdict = await judge(options.models!, {
        rubric: check.rubric,
        model: check.model,
        call: callForJudge(observed),
      });
      result.checks.push({
        name: check.name,
        type: "judged",
        status: verdict.pass ? "pass" : "fail",
        detail: verdict.reason,
      });
    }
    result.status = result.checks.every((c) => c.status === "pass") ? "pass" : "fail";
  } catch (err) {
    result.status = "error";
    result.error = err instanceof Error ? err.message : String(err);
  }
  result.durationMs = Date.now() - startedAt;
  return result;
}

/** The call itself: starts it, plays the caller, and returns what its record showed. */
async function converse(
  scenario: Scenario,
  options: RunOptions,
  timeoutMs: number,
  started: (callSid: string) => void,
): Promise<CallObservation & { failedTurns: number }> {
  const { target } = options;
  const call = await target.start({
    agent: scenario.agent,
    from: scenario.from,
    params: scenario.params,
    draft: options.draft ?? null,
  });
  started(call.callSid);
  const watch = await target.watch(call.callSid);
  let line: RelayLine | null = null;
  try {
    line = await RelayLine.open(target.relayUrl, call, { agent: scenario.agent, timeoutMs });
    const conversation: ConversationLine[] = call.greeting
      ? [{ role: "agent", text: call.greeting }]
      : [];
    if (scenario.caller.kind === "scripted") {
      await playScript(line, scenario.caller.turns, conversation, timeoutMs);
    } else {
      const caller = scenario.caller;
      for (let turn = 0; turn < caller.maxTurns && !line.end && !line.isClosed; turn++) {
        const move = await callerMove(options.models!, { ...caller, conversation });
        // The agent may have ended the call meanwhile (its goodbye was the turn before).
        if (line.end || line.isClosed) break;
        // Saying nothing is hanging up: no answer would come.
        if (!move.say && !move.press) break;
        if (move.press) line.press(move.press);
        if (move.say) {
          line.say(move.say);
          conversation.push({ role: "caller", text: move.say });
        }
        if (move.hangUp) break;
        const answer = await line.nextTurn(timeoutMs);
        if (answer.text) conversation.push({ role: "agent", text: answer.text });
      }
    }
    line.hangUp();
    // A server that never completes the close is waited for no longer than a turn.
    await withTimeout(line.closed, timeoutMs, "the relay's close").catch(() => {});
    return await watch.ended(timeoutMs);
  } finally {
    line?.hangUp();
    watch.close();
  }
}

/** Plays scripted turns, each after the agent's answer to the one before (or over it). */
async function playScript(
  line: RelayLine,
  turns: readonly ScriptedTurn[],
  conversation: ConversationLine[],
  timeoutMs: number,
): Promise<void> {
  for (let i = 0; i < turns.length && !line.end && !line.isClosed; i++) {
    const turn = turns[i];
    if (turn.hangUp && turn.say === undefined && turn.press === undefined) return;
    if (turn.interrupt) line.interrupt();
    if (turn.press) line.press(turn.press);
    if (turn.say) {
      line.say(turn.say);
      conversation.push({ role: "caller", text: turn.say });
    }
    if (turn.hangUp) return;
    if (turns[i + 1]?.interrupt) {
      await line.firstWords(timeoutMs);
      continue;
    }
    const answer = await line.nextTurn(timeoutMs);
    if (answer.text) conversation.push({ role: "agent", text: answer.text });
  }
}
