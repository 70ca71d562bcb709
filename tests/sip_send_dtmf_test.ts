/**
 * `send_dtmf` on a SIP call, over real sockets against the fake sideband: on GPT-Live each key is
 * one `transport.dtmf.send` (the SDK's sideband command), in order, `w` waiting half a second on
 * the call's clock, and OpenAI's `transport.dtmf.sent` answers each; on Realtime, whose sideband
 * has no such command, the tool is refused and nothing is sent.
 */

import assert from "node:assert/strict";
import { waitUntil } from "./fakes/event_log.ts";
import { callIn, startSip } from "./helpers/sip_harness.ts";
import { FakeClock } from "./helpers/fake_clock.ts";
import { DTMF_WAIT_MS } from "../lib/sip/sip_controls.ts";

Deno.test("sip send_dtmf, live: one transport.dtmf.send per key, w waits 500 ms", async () => {
  const clock = new FakeClock();
  const { h, sip } = await startSip({ OPENAI_VOICE_ENGINE: "live" }, { clock });
  try {
    const events = await callIn(h, sip, "live");
    const sideband = await sip.sideband(events.live.data.session_id);
    sideband.call("send_dtmf", JSON.stringify({ digits: "1w2" }));
    const first = await sideband.events.waitFor((e) => e.type === "transport.dtmf.send", {
      what: "the first key",
    });
    const firstAt = clock.now();
    // The second waits for the half second, on the call's clock.
    await waitUntil(() => clock.scheduledFor(DTMF_WAIT_MS) === 1, { what: "the w's wait" });
    assert.equal(sideband.of("transport.dtmf.send").length, 1);
    clock.tick(DTMF_WAIT_MS);
    const second = await sideband.events.waitFor((e) => e.type === "transport.dtmf.send", {
      from: sideband.events.items.indexOf(first) + 1,
      what: "the second key",
    });
    assert.equal(clock.now() - firstAt, DTMF_WAIT_MS);
    assert.deepEqual([first.event, second.event], ["1", "2"]);
    assert.deepEqual(sideband.refused, [], "each key was accepted");
    const output = await sideband.events.waitFor((e) => e.type === "response.item.create", {
      what: "the tool's output",
    });
    assert.deepEqual(JSON.parse((output.item as { output: string }).output), {
      ok: true,
      sent: "1w2",
    });
  } finally {
    await h.close();
  }
});

Deno.test("sip send_dtmf, realtime: refused (no sideband command), nothing sent", async () => {
  const { h, sip } = await startSip({ OPENAI_VOICE_ENGINE: "realtime" });
  try {
    const events = await callIn(h, sip, "realtime");
    const sideband = await sip.sideband(events.realtime.data.call_id);
    sideband.call("send_dtmf", JSON.stringify({ digits: "12" }));
    const output = await sideband.events.waitFor(
      (e) =>
        e.type === "conversation.item.create" && e.item !== null &&
        (e.item as { type: string }).type === "function_call_output",
      { what: "the tool's output" },
    );
    assert.match(String((output.item as { output: string }).output), /not available on a Realtime/);
    assert.equal(sideband.of("transport.dtmf.send").length, 0);
  } finally {
    await h.close();
  }
});
