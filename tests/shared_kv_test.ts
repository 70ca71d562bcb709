/**
 * What instances share through one Deno KV, part by part, on a real KV file opened twice (as two
 * processes would): the presence of live calls (written at a call's start, renewed, removed at
 * its end, expiring when its instance stops renewing, never written per event), the instances
 * seen in the last minute, the `/config` checks cached for a minute per configuration, and the
 * live feed following other instances by `kv.watch` where it can.
 */

import assert from "node:assert/strict";
import { type LiveCallView, Presence } from "../lib/records/presence.ts";
import { newCallRecord } from "../lib/records/call_store.ts";
import { LiveFeed } from "../lib/records/live_feed.ts";
import type { CallRecords } from "../lib/records/call_recorder.ts";
import { cachedConfigChecks } from "../lib/admin/config_check_cache.ts";
import type { ConfigCheck } from "../lib/admin/config_checks.ts";
import { eventually } from "./helpers/relay_harness.ts";
import { startService } from "./helpers/service.ts";

type Local = Omit<LiveCallView, "lastActivity">;

function liveCall(id: string, instance: string, startedAt = Date.now()): Local {
  return {
    id,
    callSid: `CA${id.padStart(32, "0")}`,
    mode: "relay",
    agent: "default",
    from: "+1555****123",
    startedAt,
    instance,
  };
}

function recordOf(call: Local) {
  return newCallRecord({
    id: call.id,
    callSid: call.callSid,
    mode: call.mode,
    agent: call.agent ?? "default",
    direction: "inbound",
    from: "+15550100123",
    to: "+15550100999",
  });
}

/** Two handles on one KV file, as two processes have; both closed by the returned function. */
async function sharedKv(): Promise<{ a: Deno.Kv; b: Deno.Kv; close(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "shared-kv-" });
  const a = await Deno.openKv(`${dir}/shared.kv`);
  const b = await Deno.openKv(`${dir}/shared.kv`);
  return {
    a,
    b,
    async close() {
      a.close();
      b.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("presence: another instance's call shows, renews, leaves at its end, expires when its instance stops", async () => {
  const kv = await sharedKv();
  let callsB: Local[] = [];
  const ttlMs = 900;
  const a = new Presence(kv.a, () => [], { instance: "inst-a", version: "v1", ttlMs });
  const b = new Presence(kv.b, () => callsB, { instance: "inst-b", version: "v2", ttlMs });
  try {
    a.start();
    b.start();
    const first = liveCall("1", "inst-b");
    callsB = [first];
    b.opened(recordOf(first));
    await eventually(async () => (await a.calls()).length === 1, "B's call seen through A");
    const [seen] = await a.calls();
    assert.deepEqual(
      [seen.id, seen.instance, seen.agent, seen.mode, seen.from, seen.callSid],
      ["1", "inst-b", "default", "relay", "+1555****123", first.callSid],
    );
    assert.ok(seen.lastActivity >= first.startedAt);
    // Renewed while it lives: a later expiry is written before the first one passes.
    await eventually(
      async () => (await a.calls()).some((c) => c.expiresAt > seen.expiresAt),
      "the entry renewed",
    );
    const instances = await a.instances();
    assert.deepEqual(
      instances.map((i) => [i.instance, i.version, i.liveCalls]),
      [["inst-a", "v1", 0], ["inst-b", "v2", 1]],
      "this instance first, each with its version and live calls",
    );

    callsB = [];
    b.ended(recordOf(first));
    await eventually(async () => (await a.calls()).length === 0, "the ended call gone");

    // B stops renewing without removing anything (a crash): its call drops off by expiry.
    const second = liveCall("2", "inst-b");
    callsB = [second];
    b.opened(recordOf(second));
    await eventually(async () => (await a.calls()).length === 1, "the second call seen");
    await b.close();
    const stopped = Date.now();
    await eventually(async () => (await a.calls()).length === 0, "the call expired", 5000);
    assert.ok(Date.now() - stopped <= ttlMs + 500, "gone within its expiry");
  } finally {
    await a.close();
    await b.close();
    await kv.close();
  }
});

Deno.test("presence: a call that ended just before its instance stops leaves at once", async () => {
  const kv = await sharedKv();
  const call = liveCall("1", "inst-b");
  let callsB: Local[] = [call];
  // A long pause before a change is written: the stop comes within it, as at a drain's end.
  const options = { version: "v", ttlMs: 60_000, coalesceMs: 60_000 };
  const a = new Presence(kv.a, () => [], { ...options, instance: "inst-a" });
  const b = new Presence(kv.b, () => callsB, { ...options, instance: "inst-b" });
  try {
    b.start();
    await eventually(async () => (await a.calls()).length === 1, "B's call seen through A");
    callsB = [];
    b.ended(recordOf(call));
    await b.close();
    // Gone within moments, not after its 60 s expiry (the two handles' reads may lag a little).
    await eventually(async () => (await a.calls()).length === 0, "the ended call gone", 2000);
  } finally {
    await a.close();
    await b.close();
    await kv.close();
  }
});

Deno.test("presence: events of a live call write nothing; only its start, end and renewals do", async () => {
  const kv = await sharedKv();
  let commits = 0;
  const counting = {
    atomic: () => {
      commits++;
      return kv.a.atomic();
    },
    list: kv.a.list.bind(kv.a),
  } as unknown as Deno.Kv;
  const call = liveCall("9", "inst-a");
  // A long TTL: no timed renewal falls inside the test.
  const p = new Presence(counting, () => [call], {
    instance: "inst-a",
    version: "v",
    ttlMs: 600_000,
  });
  try {
    p.start();
    p.opened(recordOf(call));
    await eventually(async () => (await p.calls()).length === 1, "the call written");
    const afterStart = commits;
    assert.equal(afterStart, 1, "the start and the instance entry in one write");
    const record = recordOf(call);
    const [before] = await p.calls();
    const eventsAt = Date.now();
    for (let i = 0; i < 5000; i++) {
      p.event(record);
      p.transcript(record);
    }
    // Something that does write, to know the events had their chance to.
    p.changed();
    await eventually(() => Promise.resolve(commits > afterStart), "the next write");
    assert.equal(commits, afterStart + 1, "10,000 events, no write of their own");
    const [unchanged] = await p.calls();
    assert.equal(unchanged.expiresAt, before.expiresAt, "a change elsewhere leaves the entry be");
    // The renewal (every third of the TTL) carries the last activity.
    p.renew();
    await eventually(async () => (await p.calls())[0].expiresAt > before.expiresAt, "renewed");
    assert.equal(commits, afterStart + 2);
    const [renewed] = await p.calls();
    assert.ok(renewed.lastActivity >= eventsAt, "the events moved the last activity");
  } finally {
    await p.close();
    await kv.close();
  }
});

Deno.test("config checks: cached for a minute per configuration, shared, run again when asked", async () => {
  const kv = await sharedKv();
  let runs = 0;
  const run = () => {
    runs++;
    return Promise.resolve<ConfigCheck[]>([
      { name: "OpenAI key accepted", ok: true, detail: `run ${runs}`, fix: null },
    ]);
  };
  let now = 1_000_000;
  const clock = () => now;
  try {
    const config = { openai: { apiKey: "sk-one" } };
    const first = await cachedConfigChecks(kv.a, run, { config, instance: "a", now: clock });
    assert.deepEqual([first.cached, first.instance, first.checks[0].detail], [false, "a", "run 1"]);
    // Another instance with the same configuration gets the same checks without running them.
    now += 59_000;
    const other = await cachedConfigChecks(kv.b, run, { config, instance: "b", now: clock });
    assert.deepEqual([other.cached, other.instance, other.checks[0].detail, runs], [
      true,
      "a",
      "run 1",
      1,
    ]);
    // A minute old: run again.
    now += 2_000;
    const stale = await cachedConfigChecks(kv.b, run, { config, instance: "b", now: clock });
    assert.deepEqual([stale.cached, stale.checks[0].detail], [false, "run 2"]);
    // "Check again".
    const fresh = await cachedConfigChecks(kv.a, run, {
      config,
      instance: "a",
      fresh: true,
      now: clock,
    });
    assert.deepEqual([fresh.cached, fresh.checks[0].detail], [false, "run 3"]);
    // A changed configuration (a rotated key) is checked, not served the old answer.
    const rotated = await cachedConfigChecks(kv.a, run, {
      config: { openai: { apiKey: "sk-two" } },
      instance: "a",
      now: clock,
    });
    assert.deepEqual([rotated.cached, rotated.checks[0].detail], [false, "run 4"]);
    for await (const entry of kv.a.list({ prefix: ["config_checks"] })) {
      assert.doesNotMatch(JSON.stringify(entry), /sk-one|sk-two/, "no secret in the cache");
    }
  } finally {
    await kv.close();
  }
});

Deno.test("/config: the instances on the KV with their live calls and version; checks cached, checked again on request", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shared-kv-" });
  const kvPath = `${dir}/shared.kv`;
  // One configuration behind one public URL (but for the id and version), as replicas have.
  const shared = { KV_PATH: kvPath, PUBLIC_URL: "https://calls.example.com" };
  const a = await startService({ ...shared, INSTANCE_ID: "web-a", APP_VERSION: "7.0" });
  const b = await startService({ ...shared, INSTANCE_ID: "web-b", APP_VERSION: "7.1" });
  try {
    const page = async () => await (await fetch(`${b.url}/config`)).text();
    let html = await page();
    for (const [id, version] of [["web-a", "7.0"], ["web-b", "7.1"]]) {
      const row = html.match(new RegExp(`<tr\\s+data-instance="${id}">(.*?)</tr>`))?.[1] ?? "";
      assert.match(row, new RegExp(`<td>${version.replace(".", "\\.")}</td>`), `${id}'s version`);
      assert.match(row, /<td class="live-count">0<\/td>/, `${id}'s live calls`);
    }
    assert.match(html, /data-section="checks" data-cached="false"/, "the first load runs them");
    assert.match(html, /by web-b\. /);
    // A's page within the minute: B's checks, from the cache.
    const fromA = await (await fetch(`${a.url}/config`)).text();
    assert.match(fromA, /data-section="checks" data-cached="true"/);
    assert.match(fromA, /by web-b \(cached for a minute\)/);
    const again = await fetch(`${a.url}/config/checks`, {
      method: "POST",
      headers: {
        origin: "https://calls.example.com",
        "content-type": "application/x-www-form-urlencoded",
      },
      body: "",
      redirect: "manual",
    });
    assert.equal(again.status, 303);
    assert.equal(again.headers.get("location"), "/config#checks");
    await again.body?.cancel();
    html = await page();
    assert.match(html, /by web-a \(cached for a minute\)/, "checked again by A, shared with B");
    assert.match(html, /<button type="submit" class="secondary">Check again<\/button>/);
  } finally {
    await a.close();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("live feed: with watch, another instance's call arrives by kv.watch, not by polling", async () => {
  // One handle: a watch sees its own handle's writes (Deploy's KV sees every instance's).
  const kv = await Deno.openKv(":memory:");
  const remote = liveCall("7", "inst-b");
  const b = new Presence(kv, () => [remote], { instance: "inst-b", version: "v", ttlMs: 60_000 });
  const a = new Presence(kv, () => [], { instance: "inst-a", version: "v", ttlMs: 60_000 });
  const records = { openRecords: () => [] } as unknown as CallRecords;
  const feed = new LiveFeed({ list: () => [] }, records, {
    instance: "inst-a",
    presence: a,
    kv,
    updates: "watch",
    pollMs: 600_000, // no poll falls inside the test
  });
  const lists: LiveCallView[][] = [];
  const unsubscribe = feed.subscribe({ update: (calls) => lists.push(calls), close() {} });
  try {
    b.start();
    await eventually(
      () => Promise.resolve(lists.some((l) => l.some((c) => c.id === "7"))),
      "B's call through the watch",
      3000,
    );
    const seen = lists.find((l) => l.some((c) => c.id === "7"))!;
    assert.deepEqual(seen.map((c) => [c.id, c.instance]), [["7", "inst-b"]]);
  } finally {
    unsubscribe();
    feed.close();
    await b.close();
    await a.close();
    kv.close();
  }
});
