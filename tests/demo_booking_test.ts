/**
 * The demo booking service and the `appointments` example that uses it: a relay call where the
 * model (scripted in the fake OpenAI) finds the free slots and books one through the example's
 * own HTTP tools, which reach `/demo/booking/*` over a real socket; and who may use the service
 * outside `deno task dev` (only the admin, or a request signed as the tools sign theirs).
 */

import assert from "node:assert/strict";
import { hmacSha256Hex } from "../lib/platform/hmac.ts";
import { DemoBooking } from "../lib/demo/demo_booking.ts";
import { configWarnings } from "../lib/services.ts";
import { relayHarness } from "./helpers/relay_harness.ts";
import { startService } from "./helpers/service.ts";

type Json = Record<string, unknown>;

const DAY = "2030-01-31";
const SECRET = "demo-signing-secret-0123456789";
const PASSWORD = "demo-admin-password";

function toolOutputs(body: Json): Json[] {
  const items = (body.messages ?? body.input) as Json[];
  return items
    .filter((m) => m.role === "tool" || m.type === "function_call_output")
    .map((m) => JSON.parse(String(m.content ?? m.output)));
}

/** A JSON POST signed the way HTTP tools sign theirs (`timestamp` in seconds). */
async function signedPost(url: string, body: Json, secret: string, timestamp?: number) {
  const text = JSON.stringify(body);
  const ts = String(timestamp ?? Math.floor(Date.now() / 1000));
  return await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-callbridge-timestamp": ts,
      "x-callbridge-signature": `sha256=${await hmacSha256Hex(secret, `${ts}.${text}`)}`,
    },
    body: text,
  });
}

const adminHeaders = {
  "content-type": "application/json",
  authorization: `Basic ${btoa(`admin:${PASSWORD}`)}`,
};

const variants: [string, Record<string, string>][] = [
  ["in dev, without a password (the tools are a local client)", {}],
  ["with ADMIN_PASSWORD, by the tools' signature", {
    ADMIN_PASSWORD: PASSWORD,
    TOOLS_SIGNING_SECRET: SECRET,
  }],
];
for (const [how, env] of variants) {
  Deno.test(`appointments: a call finds the free slots and books one, ${how}`, async () => {
    const h = await relayHarness({ WELCOME_GREETING: "", ...env });
    try {
      const booking = new DemoBooking(h.svc.services.kv);
      assert.equal(await booking.booking(`${DAY}T10:00`), null);
      h.fake.script(
        { toolCalls: [{ name: "find_slots", arguments: JSON.stringify({ date: DAY }) }] },
        {
          toolCalls: [{
            name: "book_appointment",
            arguments: JSON.stringify({ slot: `${DAY}T10:00`, name: "Ada Lovelace" }),
          }],
        },
        { tokens: ["You're ", "booked ", "for ten."] },
      );
      const call = await h.call({ agent: "appointments" });
      call.prompt("Can I come in on the thirty-first, at ten?");
      const turn = await call.turn();
      assert.equal(turn.text, "You're booked for ten.");
      const [slots] = toolOutputs(h.fake.requests[1].body);
      assert.deepEqual(slots, {
        date: DAY,
        slots: ["09:00", "10:00", "11:00", "14:00", "15:00", "16:00"].map((t) => `${DAY}T${t}`),
      });
      const outputs = toolOutputs(h.fake.requests[2].body);
      const booked = outputs[1].booked as Json;
      assert.equal(booked.slot, `${DAY}T10:00`);
      assert.match(String(booked.confirmation), /^[A-Z2-9]{6}$/);
      // The demo service has it, in KV: the slot is taken.
      const stored = await booking.booking(`${DAY}T10:00`);
      assert.equal(stored?.name, "Ada Lovelace");
      assert.equal(stored?.confirmation, booked.confirmation);
      assert.equal((await booking.freeSlots(DAY)).includes(`${DAY}T10:00`), false);
      await call.hangUp();
    } finally {
      await h.close();
    }
  });
}

Deno.test("demo booking in production: off by default; on, admin-only or signed", async (t) => {
  const production = { HOSTNAME: "0.0.0.0", TOOLS_SIGNING_SECRET: SECRET };
  const body = { date: DAY };
  await t.step("off unless DEMO_BOOKING says so", async () => {
    const svc = await startService({ ...production, ADMIN_PASSWORD: PASSWORD });
    try {
      assert.equal(svc.services.config.demoBooking, false);
      const res = await fetch(`${svc.url}/demo/booking/slots`, {
        method: "POST",
        headers: adminHeaders,
        body: JSON.stringify(body),
      });
      await res.body?.cancel();
      assert.equal(res.status, 404);
    } finally {
      await svc.close();
    }
  });
  await t.step("on without ADMIN_PASSWORD: refused, even from this machine", async () => {
    const svc = await startService({ ...production, DEMO_BOOKING: "true" });
    try {
      const res = await fetch(`${svc.url}/demo/booking/slots`, {
        method: "POST",
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 403);
      assert.match(await res.text(), /Set ADMIN_PASSWORD/);
      const signed = await signedPost(`${svc.url}/demo/booking/slots`, body, SECRET);
      assert.equal(signed.status, 200, "the tools' signature still lets them in");
      assert.equal(((await signed.json()).slots as string[]).length, 6);
    } finally {
      await svc.close();
    }
  });
  await t.step("on with ADMIN_PASSWORD: the password or a valid signature", async () => {
    const svc = await startService({
      ...production,
      DEMO_BOOKING: "true",
      ADMIN_PASSWORD: PASSWORD,
    });
    const url = `${svc.url}/demo/booking/book`;
    const slot = { slot: `${DAY}T09:00`, name: "Grace Hopper" };
    try {
      const anonymous = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(slot),
      });
      await anonymous.body?.cancel();
      assert.equal(anonymous.status, 401);
      const wrongKey = await signedPost(url, slot, "not-the-secret");
      await wrongKey.body?.cancel();
      assert.equal(wrongKey.status, 401);
      const stale = await signedPost(url, slot, SECRET, Math.floor(Date.now() / 1000) - 301);
      await stale.body?.cancel();
      assert.equal(stale.status, 401, "a replayed old request is refused");
      assert.equal(await new DemoBooking(svc.services.kv).booking(slot.slot), null);
      const admin = await fetch(`${svc.url}/demo/booking/slots`, {
        method: "POST",
        headers: adminHeaders,
        body: JSON.stringify(body),
      });
      assert.equal(admin.status, 200);
      assert.equal(((await admin.json()).slots as string[]).length, 6);
      const signed = await signedPost(url, slot, SECRET);
      assert.equal(signed.status, 200);
      assert.equal(((await signed.json()).booked as Json).name, "Grace Hopper");
      const again = await signedPost(url, { ...slot, name: "Someone Else" }, SECRET);
      assert.equal(again.status, 409);
      assert.match(String((await again.json()).error), /already taken/);
    } finally {
      await svc.close();
    }
  });
});

Deno.test("demo booking: bad input is a 400 naming the field; cancel needs the code", async () => {
  const svc = await startService();
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${svc.url}/demo/booking/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() as Json };
  };
  try {
    assert.equal(svc.services.config.demoBooking, true, "on by default in dev");
    const bad = [
      ["slots", "not json", /date must be/],
      ["slots", { date: "2030-02-30" }, /date must be/],
      ["book", { slot: `${DAY}T09:30`, name: "Ada" }, /slot must be a slot id/],
      ["book", { slot: `${DAY}T09:00`, name: " " }, /name must be/],
      ["cancel", { slot: `${DAY}T09:00`, confirmation: "x" }, /confirmation must be/],
    ] as const;
    for (const [path, body, error] of bad) {
      const res = await post(path, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(String(res.body.error), error);
    }
    const booked = await post("book", { slot: `${DAY}T11:00`, name: "Ada" });
    const code = String((booked.body.booked as Json).confirmation);
    const wrong = await post("cancel", { slot: `${DAY}T11:00`, confirmation: "ZZZZZZ" });
    assert.equal(wrong.status, 404);
    const cancelled = await post("cancel", { slot: `${DAY}T11:00`, confirmation: code });
    assert.deepEqual(cancelled, { status: 200, body: { cancelled: `${DAY}T11:00` } });
    const free = await post("slots", { date: DAY });
    assert.equal((free.body.slots as string[]).includes(`${DAY}T11:00`), true);
  } finally {
    await svc.close();
  }
});

Deno.test("demo booking: a start-up warning when its tools could not get in", async () => {
  const svc = await startService({ DEMO_BOOKING: "true", ADMIN_PASSWORD: PASSWORD });
  try {
    const config = svc.services.config;
    const warned = (c: typeof config) => configWarnings(c).some((w) => /^DEMO_BOOKING/.test(w));
    assert.equal(warned(config), true);
    assert.equal(warned({ ...config, tools: { ...config.tools, signingSecret: SECRET } }), false);
    assert.equal(warned({ ...config, adminPassword: null }), false, "dev: a local client");
    assert.equal(warned({ ...config, demoBooking: false }), false);
  } finally {
    await svc.close();
  }
});
