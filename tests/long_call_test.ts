/**
 * A two-hour relay call, scripted turn by turn on the injected clock: every request the model
 * gets stays within the history budget (instructions apart) however long the call runs, older
 * turns are summed up in the digest, and a tool call is never sent without its result.
 */

import assert from "node:assert/strict";
import type { RelaySession } from "../lib/relay/relay_session.ts";
import { FakeClock } from "./helpers/fake_clock.ts";
import { relayHarness } from "./helpers/relay_harness.ts";

const BUDGET = 1500;
const TURN_MS = 12_000;
const TWO_HOURS_MS = 2 * 60 * 60 * 1000;

type Json = Record<string, unknown>;

/** The estimated tokens of a Chat Completions request's history, as the budget counts them. */
function historyTokensOf(body: Json): number {
  const messages = (body.messages as Json[]).filter((m) => m.role !== "system");
  let tokens = 0;
  for (const m of messages) {
    const calls = (m.tool_calls as { id: string; function: Json }[] | undefined) ?? [];
    const chars = String(m.content ?? "").length + String(m.tool_call_id ?? "").length +
      calls.reduce((n, c) =>
        n + c.id.length + String(c.function.name).length +
        String(c.function.arguments).length, 0);
    tokens += 4 + chars / 4;
  }
  return tokens;
}

/** Problems with tool calls and results in a request: each call answered right after it. */
function toolPairing(body: Json): string[] {
  const messages = (body.messages as Json[]).filter((m) => m.role !== "system");
  const problems: string[] = [];
  messages.forEach((m, i) => {
    if (m.role === "tool") {
      const owner = messages.slice(0, i).findLast((x) => x.role !== "tool");
      const ids = ((owner?.tool_calls as { id: string }[] | undefined) ?? []).map((c) => c.id);
      if (!ids.includes(String(m.tool_call_id))) problems.push(`result ${i} has no call`);
    }
    for (const call of (m.tool_calls as { id: string }[] | undefined) ?? []) {
      const answered = messages.slice(i + 1).some((x) => x.tool_call_id === call.id);
      if (!answered) problems.push(`call ${call.id} has no result`);
    }
  });
  return problems;
}

Deno.test("a two-hour call: every request within the history budget, tools with their results", async () => {
  const clock = new FakeClock();
  const h = await relayHarness({
    OPENAI_API: "chat",
    HISTORY_MAX_TOKENS: String(BUDGET),
    MAX_CALL_SECONDS: String(TWO_HOURS_MS / 1000 + 600),
    WELCOME_GREETING: "Hello, this is the front desk.",
  }, { clock });
  try {
    const call = await h.call();
    const session = () => h.svc.services.registry.list()[0] as RelaySession;
    let turns = 0;
    for (let elapsed = 0; elapsed < TWO_HOURS_MS; elapsed += TURN_MS) {
      turns++;
      if (turns % 25 === 0) {
        // Now and then the model presses a key for the caller before it answers.
        h.fake.script(
          { toolCalls: [{ name: "send_dtmf", arguments: '{"digits":"1"}' }] },
          { tokens: ["Done, ", `that was turn ${turns}.`] },
        );
      }
      call.prompt(`Turn ${turns}: a question about the booking, ${"and more detail ".repeat(3)}`);
      await call.turn();
      clock.tick(TURN_MS);
    }
    assert.equal(turns, 600);
    assert.equal(h.fake.requests.length, 600 + 600 / 25, "one request a turn, two with a tool");
    assert.equal(session().endReason, null, "the call is still up after two hours");
    const sizes = h.fake.requests.map((r) => historyTokensOf(r.body));
    assert.ok(Math.max(...sizes) <= BUDGET, `largest request ${Math.max(...sizes)} tokens`);
    // The budget is what bounds it: the history would be 20 times larger unbounded.
    assert.ok(sizes.at(-1)! > BUDGET * 0.7, `the last request holds ${sizes.at(-1)} tokens`);
    for (const [i, r] of h.fake.requests.entries()) {
      assert.deepEqual(toolPairing(r.body), [], `request ${i}`);
    }
    const last = h.fake.requests.at(-1)!.body.messages as Json[];
    const first = last.find((m) => m.role !== "system")!;
    assert.equal(first.role, "user");
    assert.match(String(first.content), /^\[Earlier in this call \(left out to save space\):\n/);
    assert.match(String(first.content), /Agent: You said: Turn \d+/);
    assert.ok(session().history.dropped > 1000, `${session().history.dropped} entries dropped`);
    assert.ok(session().history.turns.length < 60, `${session().history.turns.length} kept`);
    assert.equal(call.received.filter((m) => m.type === "sendDigits").length, 600 / 25);
  } finally {
    await h.close();
  }
});
