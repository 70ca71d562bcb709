/**
 * What happens once a call's record is all written: its analysis (when the agent's profile has
 * one), then its end-of-call webhook (when a URL is configured), both off the call's path and
 * both through the Deno KV queue, so a restart, or another instance, picks up what was left.
 *
 * The queue carries only record ids (the record is read when the message is handled): an
 * `after_call` message runs the analysis, stores it on the record and queues the webhook
 * (`call_webhook.ts`). Both steps are idempotent: a message delivered twice neither analyses
 * a call twice nor queues its webhook twice. A call never waits for any of it: a failure here is
 * logged and recorded, never thrown at the call.
 *
 * @module
 */

import type OpenAI from "openai";
import { errorMessage, type Logger } from "../platform/log.ts";
import { type AnalysisModel, type AnalysisSpec, analyzeCall } from "./call_analysis.ts";
import type { CallObserver } from "./call_recorder.ts";
import type { CallRecord, CallStore } from "./call_store.ts";
import { recordingOf } from "./recordings.ts";
import {
  type AttemptResult,
  enqueueWebhook,
  noteAttempt,
  postWebhook,
  type WebhookMessage,
  type WebhookSettings,
  webhookStatus,
} from "./call_webhook.ts";

/** What an agent's profile asks for once a call ends. */
export interface AfterCallSettings {
  analysis: AnalysisSpec | null;
  /** The profile's `webhookUrl`, else `CALL_WEBHOOK_URL`; null = no webhook. */
  webhookUrl: string | null;
  /** The agent's own text model and API; absent = {@link AfterCallOptions.llm}'s. */
  model?: AnalysisModel;
}

/** Told about analyses and deliveries (metrics). */
export interface AfterCallObserver {
  analysed?(record: Readonly<CallRecord>): void;
  delivery?(result: "delivered" | "failed" | "refused"): void;
}

/** What {@link AfterCall} uses. */
export interface AfterCallOptions {
  store: CallStore;
  log: Logger;
  /** The settings of an agent by name (the current profile version). */
  settingsFor(agent: string): Promise<AfterCallSettings>;
  /** The analysis model; `client` null without an API key (analyses then fail, saying so). */
  llm: AnalysisModel & { client: OpenAI | null };
  webhook: WebhookSettings;
  observer?: AfterCallObserver;
  now?: () => number;
}

/** The queue message that starts the after-call work of a record. */
interface AfterCallMessage {
  kind: "after_call";
  id: string;
}

type QueueMessage = AfterCallMessage | WebhookMessage;

/** A few retries of the after-call step itself (KV unreachable for a moment). */
const AFTER_CALL_RETRIES_MS = [1000, 10_000, 60_000];

/** Runs the after-call work of every call; one per process, listening to the KV queue. */
export class AfterCall implements CallObserver {
  readonly #kv: Deno.Kv;
  readonly #now: () => number;
  /** Messages being handled now (a shutdown waits for them before KV closes). */
  readonly #running = new Set<Promise<void>>();

  constructor(private readonly options: AfterCallOptions) {
    this.#kv = options.store.kv;
    this.#now = options.now ?? Date.now;
  }

  /** A call's record is all written: queue its after-call work (if its agent asks for any). */
  closed(record: Readonly<CallRecord>): void {
    const message: AfterCallMessage = { kind: "after_call", id: record.id };
    const queued = this.options.settingsFor(record.agent).then(async (settings) => {
      if (!settings.analysis && !settings.webhookUrl) return;
      await this.#kv.enqueue(message, { backoffSchedule: AFTER_CALL_RETRIES_MS });
    }).catch((err) =>
      this.options.log.warn("after_call.enqueue_failed", {
        callId: record.id,
        error: errorMessage(err),
      })
    );
    // A shutdown waits for it too (idle), so a call ended by the drain is not forgotten.
    this.#running.add(queued);
    queued.finally(() => this.#running.delete(queued));
  }

  /** Handles queue messages until KV is closed. */
  listen(): Promise<void> {
    return this.#kv.listenQueue((message) => {
      const running = this.handle(message as QueueMessage);
      this.#running.add(running);
      return running.finally(() => this.#running.delete(running));
    });
  }

  /** Resolves once no message is being handled (before KV is closed: shutdown, tests). */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }

  /** Handles one queue message (a throw has KV deliver it again: KV failing for a moment). */
  async handle(message: QueueMessage): Promise<void> {
    if (message?.kind === "after_call") await this.#afterCall(message.id);
    else if (message?.kind === "webhook") await this.#deliver(message);
  }

  /** Queues call `id`'s webhook again after it ran out of retries; false if there is none. */
  async resend(id: string): Promise<boolean> {
    const status = await webhookStatus(this.#kv, id);
    if (!status || !status.undelivered) return false;
    await enqueueWebhook(this.#kv, { id, url: status.state.url });
    this.options.log.info("webhook.resend", { callId: id });
    return true;
  }

  async #afterCall(id: string): Promise<void> {
    const { store, log } = this.options;
    let record = await store.getRecord(id);
    if (!record) return; // deleted, or expired
    const settings = await this.options.settingsFor(record.agent);
    // A call nobody spoke on (unanswered, or silent) has nothing to analyse.
    if (settings.analysis && !record.analysis && record.turns > 0) {
      const analysis = await this.#analyse(record, settings.analysis, settings.model);
      record = await store.updateRecord(id, (r) => ({ ...r, analysis })) ?? record;
      log.info("after_call.analysed", {
        callId: id,
        status: analysis.status,
        ...(analysis.status === "failed" ? { error: analysis.error } : {}),
      });
      try {
        this.options.observer?.analysed?.(record);
      } catch { /* metrics must not fail the step */ }
    }
    if (settings.webhookUrl && !(await webhookStatus(this.#kv, id))) {
      await enqueueWebhook(this.#kv, { id, url: settings.webhookUrl });
    }
  }

  async #analyse(record: CallRecord, spec: AnalysisSpec, model?: AnalysisModel) {
    const { llm } = this.options;
    if (!llm.client) {
      return { status: "failed" as const, at: this.#now(), error: "OPENAI_API_KEY is not set" };
    }
    const detail = await this.options.store.getDetail(record.id);
    return await analyzeCall(llm.client, {
      model: model?.model ?? llm.model,
      api: model?.api ?? llm.api,
      spec,
      transcript: detail?.transcript ?? [],
      now: this.#now(),
    });
  }

  async #deliver(message: WebhookMessage): Promise<void> {
    const { store, log, webhook } = this.options;
    const status = await webhookStatus(this.#kv, message.id);
    // Delivered already, or an attempt the queue delivered twice (a later one was made since).
    if (status?.state.status === "delivered" || (status?.state.attempts ?? 0) > message.attempt) {
      return;
    }
    const detail = await store.getDetail(message.id);
    if (!detail) return; // deleted since
    // The recording's callback may have come before the record existed.
    if (!detail.record.recording && detail.record.callSid) {
      detail.record.recording = await recordingOf(this.#kv, detail.record.callSid);
    }
    const at = this.#now();
    const retryScheduleMs = webhook.retryScheduleMs;
    if (webhook.production && !message.url.startsWith("https:")) {
      const refused = "an http: webhook URL is refused in production";
      await noteAttempt(this.#kv, message, { at, result: { refused }, retryScheduleMs });
      log.warn("webhook.refused", { callId: message.id, reason: refused });
      this.#tell("refused");
      return;
    }
    const result: AttemptResult = await postWebhook(message.url, detail, {
      signingSecret: webhook.signingSecret,
      timeoutMs: webhook.timeoutMs,
      publicUrl: webhook.publicUrl,
      now: at,
    });
    const { state, next } = await noteAttempt(this.#kv, message, { at, result, retryScheduleMs });
    if (result.ok) {
      log.info("webhook.delivered", { callId: message.id, attempts: state.attempts });
      this.#tell("delivered");
      return;
    }
    // Logged once the next attempt (or the dead letter) is written.
    log.warn(next === "dead" ? "webhook.undelivered" : "webhook.failed", {
      callId: message.id,
      attempts: state.attempts,
      error: result.error,
    });
    this.#tell("failed");
  }

  #tell(result: "delivered" | "failed" | "refused"): void {
    try {
      this.options.observer?.delivery?.(result);
    } catch { /* metrics must not fail a delivery */ }
  }
}
