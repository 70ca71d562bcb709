/**
 * "Test this tool" (`POST /agents/:name/tools/:tool/test`) against the real service: the agent
 * page offers a form per tool; a run shows the HTTP request made, the answer and the time
 * taken (here the appointments example's tool against the demo booking service); arguments that
 * break the tool's schema are refused with a 400 and nothing runs; it is admin-only.
 */

import assert from "node:assert/strict";
import { DemoBooking } from "../lib/demo/demo_booking.ts";
import { startService, type TestService } from "./helpers/service.ts";

function postTest(svc: TestService, path: string, args: string): Promise<Response> {
  return fetch(`${svc.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: svc.url },
    body: new URLSearchParams({ arguments: args }),
  });
}

/** The text of the element with `id` in `html`, entities decoded. */
function textOf(html: string, id: string): string {
  const match = html.match(new RegExp(`id="${id}"[^>]*>([\\s\\S]*?)</`));
  assert.ok(match, `no #${id} in the page`);
  return match[1].replaceAll("&quot;", '"').replaceAll("&lt;", "<").replaceAll("&gt;", ">")
    .replaceAll("&#39;", "'").replaceAll("&amp;", "&");
}

Deno.test("test this tool: the request, the answer and the time; bad arguments refused", async (t) => {
  const svc = await startService();
  try {
    await t.step("the agent page has a form per tool", async () => {
      const html = await (await fetch(`${svc.url}/agents/appointments`)).text();
      for (const tool of ["end_call", "find_slots", "book_appointment", "cancel_appointment"]) {
        assert.match(html, new RegExp(`data-tool="${tool}"`));
        assert.ok(html.includes(`action="/agents/appointments/tools/${tool}/test"`), tool);
      }
    });

    await t.step("an HTTP tool runs against the demo service", async () => {
      const slot = "2030-01-31T14:00";
      const args = JSON.stringify({ slot, name: "Ada Lovelace" });
      const res = await postTest(svc, "/agents/appointments/tools/book_appointment/test", args);
      assert.equal(res.status, 200);
      const html = await res.text();
      assert.equal(
        textOf(html, "tool-request"),
        `POST ${svc.url}/demo/booking/book\n\n${args}`,
      );
      const answer = JSON.parse(textOf(html, "tool-answer"));
      assert.equal(answer.booked.slot, slot);
      assert.match(textOf(html, "tool-time"), /^\d+$/);
      assert.match(html, /id="tool-result" data-ok="true"/);
      const stored = await new DemoBooking(svc.services.kv).booking(slot);
      assert.equal(stored?.confirmation, answer.booked.confirmation, "it really ran");
      // Booking the same slot again: the service's 409 is shown as the tool's failure.
      const again = await (await postTest(
        svc,
        "/agents/appointments/tools/book_appointment/test",
        args,
      )).text();
      assert.match(again, /id="tool-result" data-ok="false"/);
      assert.match(textOf(again, "tool-answer"), /HTTP 409.*already taken/s);
    });

    await t.step("a built-in says what it would do, and does it to no call", async () => {
      const res = await postTest(
        svc,
        "/agents/appointments/tools/end_call/test",
        '{"reason":"done"}',
      );
      assert.equal(res.status, 200);
      const request = textOf(await res.text(), "tool-request");
      assert.match(request, /^built-in end_call\(\{"reason":"done"\}\)\nwould: end the call/);
      assert.equal(svc.services.registry.list().length, 0);
    });

    await t.step("arguments that break the schema are refused; nothing runs", async () => {
      const before = await new DemoBooking(svc.services.kv).freeSlots("2030-02-01");
      for (
        const [args, why] of [
          ['{"date":"tomorrow"}', /Invalid arguments: \/date must match pattern/],
          ['{"date":"2030-02-01","extra":1}', /must NOT have additional properties/],
          ["{not json", /not valid JSON/],
        ] as const
      ) {
        const res = await postTest(svc, "/agents/appointments/tools/find_slots/test", args);
        assert.equal(res.status, 400, args);
        const html = await res.text();
        assert.match(textOf(html, "tool-refused"), why);
        assert.doesNotMatch(html, /id="tool-result"/);
      }
      assert.deepEqual(await new DemoBooking(svc.services.kv).freeSlots("2030-02-01"), before);
    });

    await t.step("an unknown tool or agent is a 404", async () => {
      for (const path of ["/agents/appointments/tools/nope/test", "/agents/nope/tools/x/test"]) {
        const res = await postTest(svc, path, "{}");
        await res.body?.cancel();
        assert.equal(res.status, 404, path);
      }
    });
  } finally {
    await svc.close();
  }
});

Deno.test("test this tool is admin-only", async () => {
  const svc = await startService({ ADMIN_PASSWORD: "tool-test-password" });
  try {
    const res = await postTest(svc, "/agents/appointments/tools/end_call/test", "{}");
    await res.body?.cancel();
    assert.equal(res.status, 401);
  } finally {
    await svc.close();
  }
});
