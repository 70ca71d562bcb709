/**
 * The end-of-call webhook: a signed JSON POST of a finished call's record to the team's own
 * system, delivered durably through the Deno KV queue.
 *
 * Each attempt is a queue message. A non-2xx answer, a timeout or a refused connection is
 * recorded, and in the same atomic write the next attempt is queued (`kv.enqueue` with `delay`,
 * the next wait of `WEBHOOK_RETRY_SCHEDULE_MS`), so it is delivered on whichever instance
 * listens, after a restart too; once the schedule is used up the message goes to its dead-letter
 * key instead, which the call page (with "send again") and `/metrics` read. KV's own
 * `backoffSchedule` and `keysIfUndelivered` (the same dead-letter key) cover a handler that
 * crashes.
 *
 * Requests carry `X-Callbridge-Signature: sha256=<hex HMAC of "<timestamp>.<body>">` and
 * `X-Callbridge-Timestamp` (as HTTP tools do), and `Idempotency-Key: <record id>`: a retry of a
 * delivery that did land has the same key.
 *
 * KV keys: `["webhook", id]` → {@link WebhookState}; `["webhook_dead", id]` → the dead letter.
 *
 * @module
 */

import { signatureHeaders } from "../platform/hmac.ts";
import { errorMessage } from "../platform/log.ts";
import type { CallDetail } from "./call_store.ts";

/** A queued delivery. */
export interface WebhookMessage {
  kind: "webhook";
  /** The call record's id. */
  id: string;
  url: string;
  /** Which attempt this is (0 = the first); a retry is a new message. */
  attempt: number;
}

/** Where a call's webhook stands. */
export interface WebhookState {
  id: string;
  /** The receiver (shown on the call page; a URL the operator configured). */
  url: string;
  status: "pending" | "delivered" | "refused";
  attempts: number;
  lastAttemptAt: number | null;
  /** The last failure: `HTTP 500`, `timed out after 10000 ms`, … */
  lastError: string | null;
  deliveredAt: number | null;
}

/** The webhook's settings (from the configuration). */
export interface WebhookSettings {
  signingSecret: string | null;
  timeoutMs: number;
  retryScheduleMs: number[];
  /** In production an `http:` receiver is refused. */
  production: boolean;
  /** `PUBLIC_URL`, for the recording's link. */
  publicUrl: string | null;
}

/** KV key of a call's webhook state. */
export function webhookKey(id: string): Deno.KvKey {
  return ["webhook", id];
}

/** KV key where KV puts a delivery that ran out of retries. */
export function deadLetterKey(id: string): Deno.KvKey {
  return ["webhook_dead", id];
}

/**
 * The JSON a receiver gets for a call; `baseUrl` (`PUBLIC_URL`) makes the recording's link,
 * `GET /api/calls/:sid/recording` (bearer token).
 */
export function webhookPayload(
  detail: CallDetail,
  baseUrl: string | null,
): Record<string, unknown> {
  const { record, transcript, events } = detail;
  const recording = record.recording;
  return {
    event: "call.ended",
    id: record.id,
    callSid: record.callSid,
    agent: record.agent,
    mode: record.mode,
    direction: record.direction,
    from: record.from,
    to: record.to,
    startedAt: iso(record.startedAt),
    answeredAt: iso(record.answeredAt),
    endedAt: iso(record.endedAt),
    endReason: record.outcome,
    handoff: record.handoff,
    transcript: transcript.map((t) => ({
      role: t.role,
      text: t.text,
      at: iso(t.at),
      ...(t.interrupted ? { interrupted: t.interrupted } : {}),
    })),
    toolCalls: events.filter((e) => e.type === "tool").map((e) => ({
      at: iso(e.at),
      summary: e.summary,
      ...(e.data ? { data: e.data } : {}),
    })),
    usage: {
      turns: record.turns,
      interruptions: record.interruptions,
      toolCalls: record.toolCalls,
      errors: record.errors,
      inputTokens: record.inputTokens,
      outputTokens: record.outputTokens,
      latencyP50Ms: record.latencyP50Ms,
      latencyMaxMs: record.latencyMaxMs,
    },
    costUsd: record.costUsd,
    analysis: record.analysis ?? null,
    recording: recording
      ? {
        sid: recording.sid,
        status: recording.status,
        durationSeconds: recording.durationSeconds,
        channels: recording.channels,
        url: baseUrl ? `${baseUrl}/api/calls/${record.callSid ?? record.id}/recording` : null,
      }
      : null,
  };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** Queues the first attempt of call `id`'s delivery to `url` (and marks it pending). */
export async function enqueueWebhook(
  kv: Deno.Kv,
  target: { id: string; url: string },
): Promise<void> {
  const state: WebhookState = {
    id: target.id,
    url: target.url,
    status: "pending",
    attempts: 0,
    lastAttemptAt: null,
    lastError: null,
    deliveredAt: null,
  };
  const message: WebhookMessage = { kind: "webhook", id: target.id, url: target.url, attempt: 0 };
  const op = kv.atomic()
    .set(webhookKey(target.id), state, { expireIn: STATE_TTL_MS })
    .delete(deadLetterKey(target.id));
  const result = await queue(op, message, 0).commit();
  if (!result.ok) throw new Error("KV refused the write");
}

/**
 * Adds the queueing of `message` after `delay` ms to `op`. Its retries are the service's own
 * (each failed attempt queues the next, in the same write as its state); KV's `backoffSchedule`
 * and `keysIfUndelivered` only cover a handler that crashes, so even then the message ends in
 * the dead-letter list rather than nowhere.
 */
function queue(op: Deno.AtomicOperation, message: WebhookMessage, delay: number) {
  return op.enqueue(message, {
    delay,
    backoffSchedule: CRASH_RETRIES_MS,
    keysIfUndelivered: [deadLetterKey(message.id)],
  });
}

/** KV's own retries of a message whose handler threw (a bug, or KV failing for a moment). */
const CRASH_RETRIES_MS = [1000, 10_000, 60_000];

/** How long a webhook's state is kept (the records' longest retention). */
const STATE_TTL_MS = 3650 * 24 * 60 * 60 * 1000;

/** The outcome of one attempt. */
export type AttemptResult = { ok: true; status: number } | { ok: false; error: string };

/**
 * One delivery attempt of `detail` to `url`; never throws. Redirects are not followed (a 3xx
 * is a failure): the receiver is the URL configured, nowhere else.
 */
export async function postWebhook(
  url: string,
  detail: CallDetail,
  options: Pick<WebhookSettings, "signingSecret" | "timeoutMs" | "publicUrl"> & { now: number },
): Promise<AttemptResult> {
  const body = JSON.stringify(webhookPayload(detail, options.publicUrl));
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "Callbridge-Webhook/1",
    "idempotency-key": detail.record.id,
    "x-callbridge-event": "call.ended",
  };
  if (options.signingSecret) {
    Object.assign(
      headers,
      await signatureHeaders(options.signingSecret, body, Math.floor(options.now / 1000)),
    );
  }
  try {
    const res = await fetch(url, {
      method: "POST",
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    await res.body?.cancel();
    return res.ok ? { ok: true, status: res.status } : { ok: false, error: `HTTP ${res.status}` };
  } catch (err) {
    const timedOut = err instanceof DOMException && err.name === "TimeoutError";
    return {
      ok: false,
      error: timedOut ? `timed out after ${options.timeoutMs} ms` : errorMessage(err).slice(0, 200),
    };
  }
}

/** What follows an attempt: nothing (delivered), the next attempt, or the dead-letter list. */
export type AttemptNext = "done" | "retry" | "dead";

/**
 * Records an attempt's result in the call's webhook state and, in the same write, queues the
 * next attempt after the schedule's next wait, or dead-letters the delivery once the schedule is
 * used up (or it was refused): a process killed at any point after this write loses nothing.
 */
export async function noteAttempt(
  kv: Deno.Kv,
  message: WebhookMessage,
  update: {
    at: number;
    result: AttemptResult | { refused: string };
    retryScheduleMs: readonly number[];
  },
): Promise<{ state: WebhookState; next: AttemptNext }> {
  const key = webhookKey(message.id);
  for (;;) {
    const entry = await kv.get<WebhookState>(key);
    const current: WebhookState = entry.value ?? {
      id: message.id,
      url: message.url,
      status: "pending",
      attempts: 0,
      lastAttemptAt: null,
      lastError: null,
      deliveredAt: null,
    };
    const state: WebhookState = {
      ...current,
      attempts: current.attempts + 1,
      lastAttemptAt: update.at,
    };
    const { result } = update;
    let next: AttemptNext = "done";
    if ("refused" in result) {
      state.status = "refused";
      state.lastError = result.refused;
      next = "dead";
    } else if (result.ok) {
      state.status = "delivered";
      state.deliveredAt = update.at;
    } else {
      state.lastError = result.error;
      next = message.attempt < update.retryScheduleMs.length ? "retry" : "dead";
    }
    let op = kv.atomic().check(entry).set(key, state, { expireIn: STATE_TTL_MS });
    if (next === "retry") {
      const retry = { ...message, attempt: message.attempt + 1 };
      op = queue(op, retry, update.retryScheduleMs[message.attempt]);
    } else if (next === "dead") {
      op = op.set(deadLetterKey(message.id), message, { expireIn: STATE_TTL_MS });
    }
    if ((await op.commit()).ok) return { state, next };
  }
}

/** A call's webhook: its state, and whether it ran out of retries (dead-lettered). */
export async function webhookStatus(
  kv: Deno.Kv,
  id: string,
): Promise<{ state: WebhookState; undelivered: boolean } | null> {
  const [state, dead] = await kv.getMany<[WebhookState, WebhookMessage]>([
    webhookKey(id),
    deadLetterKey(id),
  ]);
  if (!state.value) return null;
  return {
    state: state.value,
    undelivered: dead.value !== null || state.value.status === "refused",
  };
}

/** Dead letters: the deliveries that ran out of retries (or were refused), oldest first. */
export async function deadLetters(kv: Deno.Kv, limit = 1000): Promise<WebhookMessage[]> {
  const out: WebhookMessage[] = [];
  for await (const entry of kv.list<WebhookMessage>({ prefix: ["webhook_dead"] }, { limit })) {
    out.push(entry.value);
  }
  return out;
}

/** Deletes a call's webhook state and dead letter (the call was deleted). */
export async function forgetWebhook(kv: Deno.Kv, id: string): Promise<void> {
  await kv.atomic().delete(webhookKey(id)).delete(deadLetterKey(id)).commit();
}
