/**
 * A webhook Twilio signed over another URL (the usual cause: PUBLIC_URL is not the base of the
 * URL set on the number) is refused with a log line naming the URL the service expected and a
 * hint to check PUBLIC_URL, and `/config` lists it among the last refused requests.
 */

import assert from "node:assert/strict";
import { mismatchHint } from "../lib/admin/twilio_signature.ts";
import { postSigned, startService } from "./helpers/service.ts";

const CALL = {
  CallSid: "CA0123456789abcdef0123456789abcdef",
  AccountSid: "AC00000000000000000000000000000000",
  From: "+15550100200",
  To: "+15550100300",
};

Deno.test("a signature over another URL: logged with the expected URL, listed on /config", async () => {
  const svc = await startService();
  try {
    const before = await (await fetch(`${svc.url}/config`)).text();
    assert.match(before, /None refused by this instance since it started/);

    const expected = `${svc.url}/twilio/voice?agent=default`;
    const res = await postSigned(expected, CALL, {
      signedUrl: "https://old-tunnel.ngrok.app/twilio/voice?agent=default",
    });
    assert.equal(res.status, 403);
    await res.body?.cancel();
    const line = svc.logs.find((l) => l.event === "twilio.signature_rejected");
    assert.deepEqual(
      { why: line?.why, expectedUrl: line?.expectedUrl, hint: line?.hint },
      { why: "mismatch", expectedUrl: expected, hint: mismatchHint(svc.url) },
    );

    const page = await (await fetch(`${svc.url}/config`)).text();
    const section = page.slice(page.indexOf('id="rejected-requests"'));
    assert.ok(section.includes("<code>POST /twilio/voice</code>"), section.slice(0, 600));
    assert.ok(section.includes(`<code>${expected.replace("&", "&amp;")}</code>`));
    assert.ok(section.includes(mismatchHint(svc.url)));
    assert.ok(!before.includes('class="rejected"'));
  } finally {
    await svc.close();
  }
});
