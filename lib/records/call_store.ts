/**
 * Call records in Deno KV: one summary per call plus its transcript turns, events and per-turn
 * latencies, each under its own key (long turns split in parts) so no value nears KV's 64 KiB
 * limit, all expiring after `RECORDS_RETENTION_DAYS`.
 *
 * Keys:
 * - `["call", id]` → {@link CallRecord}
 * - `["call_by_time", startedAt, id]` → id (newest first listing)
 * - `["call_by_sid", callSid, id]` → id (a call reconnected after a failure has several records)
 * - `["call_item", id, kind, seq, part]` → a transcript turn (part), an event or a latency
 *
 * @module
 */

import type { OpenAiApi } from "../platform/config.ts";

/** The tag of the calls scenario runs make, left out of call lists unless asked for. */
export const SCENARIO_TAG = "scenario";

/** A call's path: ConversationRelay, Media Streams, or SIP straight to OpenAI. */
export type CallMode = "relay" | "realtime" | "sip";

/** The model settings a call ran with (the agent's, else the configured defaults). */
export interface CallModel {
  /** The relay path's text model or the realtime path's Realtime model. */
  model: string;
  /** Chat Completions or Responses (relay); null on the realtime path. */
  api: OpenAiApi | null;
  /** null = the API's default (and always on the realtime path: the GA API has none). */
  temperature: number | null;
  /** null = the model's maximum. */
  maxOutputTokens: number | "inf" | null;
}

/** One call's summary. */
export interface CallRecord {
  id: string;
  callSid: string | null;
  mode: CallMode;
  agent: string;
  direction: string;
  /** Full numbers: shown masked in lists, whole only on the call's page. */
  from: string;
  to: string;
  startedAt: number;
  answeredAt: number | null;
  endedAt: number | null;
  /** `live` until the call ends, then its end reason (`caller-hangup`, `agent-ended`, …). */
  outcome: string;
  handoff: Record<string, unknown> | null;
  turns: number;
  interruptions: number;
  toolCalls: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  /** Estimated cost in US dollars, from the model's prices; null = the model has none. */
  costUsd: number | null;
  /** What the call's agent ran on; null until its profile is known (or from before). */
  model?: CallModel | null;
  /** Median and worst per-turn latency, ms. */
  latencyP50Ms: number | null;
  latencyMaxMs: number | null;
  /** The after-call analysis (absent on records written before there was one). */
  analysis?: CallAnalysis | null;
  /** The Twilio recording, once its status callback came (profiles with `record: true`). */
  recording?: CallRecording | null;
  /** What kind of call this is besides a real one, e.g. `scenario` (a simulated test call). */
  tags?: string[];
}

/**
 * A call's recording: Twilio's, as its `recordingStatusCallback`s report it, or a GPT-Live SIP
 * session's, stored by OpenAI (`store: true`) and fetched with `client.live.sessions.downloadRecording`.
 */
export interface CallRecording {
  /** Who holds it: Twilio (absent on older records) or OpenAI. */
  source?: "twilio" | "openai";
  /** `RE…` (Twilio), or the Live session's id (OpenAI). */
  sid: string;
  /** `in-progress`, `completed`, `absent` or `failed`. */
  status: string;
  durationSeconds: number | null;
  channels: number | null;
  updatedAt: number;
}

/**
 * What the model made of a call once it ended (`analysis` in the agent's profile): a summary,
 * one of the profile's outcome labels and the fields its schema asks for; or why that failed.
 */
export type CallAnalysis =
  | {
    status: "done";
    at: number;
    summary: string;
    /** One of the profile's outcome labels (null when it defines none). */
    outcome: string | null;
    fields: Record<string, unknown> | null;
    model: string;
  }
  | { status: "failed"; at: number; error: string };

/** A transcript turn as the caller experienced it. */
export interface TranscriptTurn {
  seq: number;
  role: "caller" | "agent";
  text: string;
  at: number;
  /** The agent was cut off: what was heard (chars of text, or ms of audio). */
  interrupted?: { heardChars?: number; heardMs?: number };
}

/** Something that happened during a call. */
export interface CallEventRecord {
  seq: number;
  at: number;
  type: "interrupt" | "barge_in" | "tool" | "dtmf" | "error" | "status" | "handoff" | "limit";
  /** A short line for the timeline. */
  summary: string;
  data?: Record<string, unknown>;
}

/** One assistant turn's latency and usage. */
export interface TurnLatency {
  seq: number;
  at: number;
  /** relay: caller's prompt → first token; realtime: speech stopped → first audio out. */
  latencyMs: number | null;
  inputTokens: number;
  outputTokens: number;
  outcome: string;
}

/** Everything recorded of one call. */
export interface CallDetail {
  record: CallRecord;
  transcript: TranscriptTurn[];
  events: CallEventRecord[];
  latencies: TurnLatency[];
}

/** Filters of {@link CallStore.list}. */
export interface CallFilter {
  agent?: string;
  mode?: CallMode;
  /** An end reason, or `live`. */
  outcome?: string;
  /** An analysis outcome label (`analysis.outcome`). */
  result?: string;
  /** Epoch ms range of the start time. */
  from?: number;
  to?: number;
  /** Case-insensitive text searched in transcripts. */
  search?: string;
  /** Only calls with this tag (`scenario`). */
  tag?: string;
  /** Only calls without this tag (the dashboard leaves scenario runs out by default). */
  withoutTag?: string;
  limit?: number;
  /** Where the previous page stopped ({@link CallPage.cursor}); the other filters the same. */
  cursor?: string;
}

/** One page of {@link CallStore.page}. */
export interface CallPage {
  calls: CallRecord[];
  /** Pass as `cursor` for the next (older) page; null when there is none. */
  cursor: string | null;
}

/** A cursor that is not one {@link CallStore.page} gave. */
export class CursorError extends Error {
  constructor() {
    super("The cursor is not one a previous page gave (with the same filters).");
    this.name = "CursorError";
  }
}

/** Text of one KV value part of a transcript turn (well under 64 KiB in UTF-8). */
const PART_CHARS = 12_000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Reads and writes call records. */
export class CallStore {
  constructor(
    readonly kv: Deno.Kv,
    readonly retentionDays = 30,
    private readonly now: () => number = Date.now,
  ) {}

  get #expireIn(): number {
    return this.retentionDays * DAY_MS;
  }

  /** Records started before this are expired (KV's `expireIn` is best effort: enforced on read). */
  get #cutoff(): number {
    return this.now() - this.#expireIn;
  }

  /** Creates or replaces a call's summary (and its time index). */
  async putRecord(record: CallRecord): Promise<void> {
    let op = this.kv.atomic()
      .set(["call", record.id], record, { expireIn: this.#expireIn })
      .set(["call_by_time", record.startedAt, record.id], record.id, { expireIn: this.#expireIn });
    if (record.callSid) {
      op = op.set(["call_by_sid", record.callSid, record.id], record.id, {
        expireIn: this.#expireIn,
      });
    }
    const result = await op.commit();
    if (!result.ok) throw new Error("KV refused the write");
  }

  /**
   * Changes a stored summary with `change` (retried if another writer got there first); returns
   * the new summary, or null when there is no such record or `change` returns null.
   */
  async updateRecord(
    id: string,
    change: (record: CallRecord) => CallRecord | null,
  ): Promise<CallRecord | null> {
    for (;;) {
      const entry = await this.kv.get<CallRecord>(["call", id]);
      if (!entry.value) return null;
      const next = change(entry.value);
      if (!next) return null;
      const result = await this.kv.atomic().check(entry)
        .set(["call", id], next, { expireIn: this.#expireIn }).commit();
      if (result.ok) return next;
    }
  }

  /** The records of a Twilio call (one per session), oldest first. */
  async findBySid(callSid: string): Promise<CallRecord[]> {
    const records: CallRecord[] = [];
    for await (const entry of this.kv.list<string>({ prefix: ["call_by_sid", callSid] })) {
      const record = await this.getRecord(entry.value);
      if (record) records.push(record);
    }
    return records.sort((a, b) => a.startedAt - b.startedAt);
  }

  /** The records of a call by its Twilio call SID (`CA…`) or one record's id; [] if none. */
  async findByKey(key: string): Promise<CallRecord[]> {
    if (!key || key.length > 64) return [];
    if (/^CA/.test(key)) return await this.findBySid(key);
    const record = await this.getRecord(key);
    return record ? [record] : [];
  }

  /** Marks when a call was answered (status callbacks). */
  async markAnswered(callSid: string, at: number): Promise<void> {
    for (const record of await this.findBySid(callSid)) {
      if (record.answeredAt === null) await this.putRecord({ ...record, answeredAt: at });
    }
  }

  /** Appends transcript turns, events and latencies in one atomic write per batch. */
  async putItems(
    id: string,
    items: {
      transcript?: TranscriptTurn[];
      events?: CallEventRecord[];
      latencies?: TurnLatency[];
    },
  ): Promise<void> {
    const writes: [Deno.KvKey, unknown][] = [];
    for (const turn of items.transcript ?? []) {
      const parts = Math.max(1, Math.ceil(turn.text.length / PART_CHARS));
      for (let part = 0; part < parts; part++) {
        const text = turn.text.slice(part * PART_CHARS, (part + 1) * PART_CHARS);
        writes.push([["call_item", id, "t", turn.seq, part], { ...turn, text, parts }]);
      }
    }
    for (const event of items.events ?? []) {
      writes.push([["call_item", id, "e", event.seq, 0], event]);
    }
    for (const l of items.latencies ?? []) writes.push([["call_item", id, "l", l.seq, 0], l]);
    // An atomic operation takes at most 1000 mutations.
    for (let i = 0; i < writes.length; i += 500) {
      let op = this.kv.atomic();
      for (const [key, value] of writes.slice(i, i + 500)) {
        op = op.set(key, value, { expireIn: this.#expireIn });
      }
      const result = await op.commit();
      if (!result.ok) throw new Error("KV refused the write");
    }
  }

  /** A call's summary, or null (unknown or expired). */
  async getRecord(id: string): Promise<CallRecord | null> {
    const record = (await this.kv.get<CallRecord>(["call", id])).value;
    return record && record.startedAt >= this.#cutoff ? record : null;
  }

  /** Deletes records past retention that KV has not expired yet; returns how many. */
  async purgeExpired(): Promise<number> {
    let purged = 0;
    const old = this.kv.list<string>({
      start: ["call_by_time", 0],
      end: ["call_by_time", this.#cutoff],
    });
    for await (const entry of old) {
      const id = entry.value;
      const record = (await this.kv.get<CallRecord>(["call", id])).value;
      let op = this.kv.atomic().delete(entry.key).delete(["call", id]);
      if (record?.callSid) op = op.delete(["call_by_sid", record.callSid, id]);
      await op.commit();
      for await (const item of this.kv.list({ prefix: ["call_item", id] })) {
        await this.kv.delete(item.key);
      }
      purged++;
    }
    return purged;
  }

  /** Everything recorded of a call, or null. */
  async getDetail(id: string): Promise<CallDetail | null> {
    const record = await this.getRecord(id);
    if (!record) return null;
    const transcript: TranscriptTurn[] = [];
    const events: CallEventRecord[] = [];
    const latencies: TurnLatency[] = [];
    for await (const entry of this.kv.list({ prefix: ["call_item", id] })) {
      const kind = entry.key[2];
      if (kind === "t") {
        const part = entry.value as TranscriptTurn & { parts: number };
        const last = transcript.at(-1);
        if (last && last.seq === part.seq && entry.key[4] !== 0) last.text += part.text;
        else {
          const { parts: _parts, ...turn } = part;
          transcript.push(turn);
        }
      } else if (kind === "e") events.push(entry.value as CallEventRecord);
      else if (kind === "l") latencies.push(entry.value as TurnLatency);
    }
    return { record, transcript, events, latencies };
  }

  /** Recent calls, newest first, filtered. */
  async list(filter: CallFilter = {}): Promise<CallRecord[]> {
    return (await this.page(filter)).calls;
  }

  /**
   * A page of calls, newest first, filtered, and the cursor of the next page: at most `limit`
   * calls (500 at most), after scanning at most 5000 records (then a shorter page, with a
   * cursor, so a search over many records goes on from there).
   */
  async page(filter: CallFilter = {}): Promise<CallPage> {
    const limit = Math.min(filter.limit ?? 50, 500);
    const out: CallRecord[] = [];
    const selector: Deno.KvListSelector = {
      start: ["call_by_time", Math.max(filter.from ?? 0, this.#cutoff)],
      end: ["call_by_time", (filter.to ?? Number.MAX_SAFE_INTEGER) + 1],
    };
    const needle = filter.search?.trim().toLowerCase();
    let scanned = 0;
    const entries = this.kv.list<string>(selector, {
      reverse: true,
      batchSize: 100,
      cursor: filter.cursor,
    });
    let more = false;
    // Where the next page starts: just past the page's last call (the iterator's cursor is just
    // past the last entry read). A full page looks on for one more match, so that an exactly
    // full last page has no next one.
    let next: string | null = null;
    try {
      for await (const entry of entries) {
        const record = await this.getRecord(entry.value);
        const match = record !== null && (await this.#matches(record, filter, needle));
        if (next !== null && match) {
          more = true;
          break;
        }
        if (next === null && match) {
          out.push(record);
          if (out.length >= limit) next = entries.cursor;
        }
        if (++scanned >= 5000) {
          more = true;
          next ??= entries.cursor;
          break;
        }
      }
    } catch (err) {
      if (filter.cursor && err instanceof TypeError) throw new CursorError();
      throw err;
    }
    return { calls: out, cursor: more && next ? next : null };
  }

  async #matches(
    record: CallRecord,
    filter: CallFilter,
    needle: string | undefined,
  ): Promise<boolean> {
    if (filter.agent && record.agent !== filter.agent) return false;
    if (filter.mode && record.mode !== filter.mode) return false;
    if (filter.outcome && record.outcome !== filter.outcome) return false;
    if (filter.result && resultOf(record) !== filter.result) return false;
    if (filter.tag && !record.tags?.includes(filter.tag)) return false;
    if (filter.withoutTag && record.tags?.includes(filter.withoutTag)) return false;
    return !needle || await this.#transcriptIncludes(record.id, needle);
  }

  async #transcriptIncludes(id: string, needle: string): Promise<boolean> {
    for await (const entry of this.kv.list<TranscriptTurn>({ prefix: ["call_item", id, "t"] })) {
      if (entry.value.text.toLowerCase().includes(needle)) return true;
    }
    return false;
  }
}

/** A record's analysis outcome label, or null (no analysis, failed, or no label). */
export function resultOf(record: CallRecord): string | null {
  return record.analysis?.status === "done" ? record.analysis.outcome : null;
}

/** A new, empty summary for a call that starts now. */
export function newCallRecord(
  fields: Pick<CallRecord, "id" | "callSid" | "mode" | "agent" | "direction" | "from" | "to"> & {
    startedAt?: number;
  },
): CallRecord {
  return {
    answeredAt: null,
    endedAt: null,
    outcome: "live",
    handoff: null,
    turns: 0,
    interruptions: 0,
    toolCalls: 0,
    errors: 0,
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
    model: null,
    latencyP50Ms: null,
    latencyMaxMs: null,
    analysis: null,
    ...fields,
    startedAt: fields.startedAt ?? Date.now(),
  };
}
