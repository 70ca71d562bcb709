/**
 * A fake OpenAI Realtime (GA) WebSocket server on 127.0.0.1 for tests and the benchmark.
 *
 * It speaks only the GA protocol and rejects what the real service rejects (beta shapes, unknown
 * events, a missing `Authorization`, `g711_ulaw`, audio sent before the session is configured,
 * tool declarations and `tool_choice` values the API refuses, a truncate past the item's audio,
 * a cancel with no response in progress), with the real `error` event's shape
 * (`invalid_request_error`, a code, and a `param` naming the field). Scripted replies are paced
 * on timers; `speech_started`/`speech_stopped` come on demand; every client event is recorded.
 * Like the real API, it can still send a few deltas of a response after it was cancelled (they
 * were on their way), before its `response.done`. In echo mode every appended audio chunk comes
 * straight back as an audio delta.
 *
 * This file is the server (upgrades, their auth, and the settings every session follows); a
 * socket's session is `fake_realtime_session.ts`, its replies `realtime_replies.ts`, and what
 * `session.update` may hold `realtime_session_rules.ts`.
 *
 * @module
 */

import type { TlsCert } from "../helpers/test_ca.ts";
import { EventLog } from "./event_log.ts";
import type { FakeLive } from "./fake_live.ts";
import { FakeRealtimeSession } from "./fake_realtime_session.ts";
import type { FakeSip } from "./fake_sip.ts";
import type { ReplyScript } from "./realtime_replies.ts";

/** Options of {@link FakeRealtime}. */
export interface FakeRealtimeOptions {
  /**
   * `echo`: appended audio comes back at once as deltas of one open-ended response (joining the
   * reply in progress, if any); `response.create` still gets a scripted reply.
   */
  mode?: "script" | "echo";
  reply?: Partial<ReplyScript>;
}

/** What happened to one upgrade request. */
export interface UpgradeRecord {
  status: "accepted" | "refused" | "aborted";
  authorization: string | null;
  url: string;
}

/** The fake server: accepts `GET /v1/realtime?model=…` upgrades. */
export class FakeRealtime {
  readonly mode: "script" | "echo";
  reply: Partial<ReplyScript>;
  /** Scripts for the next replies, in order, over `reply`. */
  readonly replies: Partial<ReplyScript>[] = [];
  readonly sessions = new EventLog<FakeRealtimeSession>();
  readonly upgrades = new EventLog<UpgradeRecord>();
  /** Seeds of the replies started, in order (see {@link replyAudio}). */
  readonly replySeeds: number[] = [];
  /** Answer upgrades with this HTTP status instead (e.g. 401, 500). */
  refuseStatus: number | null = null;
  /** Deltas of the interrupted reply still sent after `speech_started` (they are in flight). */
  lateDeltas = 0;
  /**
   * Deltas of a cancelled reply still sent after `response.cancel`, before its `response.done`
   * (status `cancelled`): they were on their way when the server got the cancel.
   */
  cancelLateDeltas = 0;
  /** Called with the audio and arrival time of every accepted append. */
  onAppend: ((audio: string, at: number) => void) | null = null;
  /** Called with the type and arrival time of every client event but audio appends. */
  onClientEvent: ((type: string, at: number) => void) | null = null;
  /**
   * In echo mode, gather appended audio into deltas of at least this many ms (0: each append
   * comes back at once as its own delta, 20 ms from Twilio).
   */
  echoDeltaMs = 0;
  /** Accept `response.create` (and VAD turns) but never answer: a stalled server. */
  stallReplies = false;
  /** Hold upgrade requests (no answer) until {@link releaseUpgrades}. */
  holdUpgrades = false;
  /** The GPT-Live API under the same base URL (`/v1/live/sessions`), when set. */
  live: FakeLive | null = null;
  /** SIP calls' REST API under the same base URL (accept, reject, hangup, refer), when set. */
  sip: FakeSip | null = null;

  #server: Deno.HttpServer<Deno.NetAddr> | null = null;
  #held: (() => void)[] = [];

  constructor(options: FakeRealtimeOptions = {}) {
    this.mode = options.mode ?? "script";
    this.reply = options.reply ?? {};
  }

  /** Starts listening; returns the base URL to use as `OPENAI_BASE_URL` (https with `tls`). */
  start(options: { tls?: TlsCert } = {}): string {
    this.#server = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen: () => {}, ...options.tls },
      (req) => this.handle(req),
    );
    return `${options.tls ? "https" : "http"}://127.0.0.1:${this.#server.addr.port}/v1`;
  }

  /** Answers the held upgrade requests. */
  releaseUpgrades(): void {
    this.holdUpgrades = false;
    for (const release of this.#held.splice(0)) release();
  }

  /** Session number `index` (0 = first), waiting for it if needed. */
  session(index = 0): Promise<FakeRealtimeSession> {
    return this.sessions.waitFor(() => true, { what: `Realtime session #${index}`, from: index });
  }

  /** Closes every session and the server. */
  async close(): Promise<void> {
    this.releaseUpgrades();
    for (const session of this.sessions.items) session.close();
    await Promise.all(this.sessions.items.map((s) => s.closed));
    await this.live?.close();
    await this.sip?.close();
    await this.#server?.shutdown();
  }

  /** Answers one HTTP request (an upgrade to `/v1/realtime`); another fake server may delegate. */
  async handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const authorization = req.headers.get("authorization");
    const record = (status: UpgradeRecord["status"]) =>
      this.upgrades.push({ status, authorization, url: req.url });
    if (this.live && url.pathname === "/v1/live/sessions") return this.live.handle(req);
    const sip = this.sip ? (this.sip.upgrade(req) ?? await this.sip.handle(req)) : null;
    if (sip) return sip;
    if (url.pathname !== "/v1/realtime" || req.headers.get("upgrade") !== "websocket") {
      return new Response("not found", { status: 404 });
    }
    if (this.holdUpgrades) {
      const aborted = await new Promise<boolean>((resolve) => {
        this.#held.push(() => resolve(false));
        req.signal.addEventListener("abort", () => resolve(true));
      });
      if (aborted) {
        record("aborted");
        return new Response(null, { status: 499 });
      }
    }
    if (this.refuseStatus) {
      record("refused");
      return new Response("refused", { status: this.refuseStatus });
    }
    if (!authorization?.startsWith("Bearer ") || authorization.length < 8) {
      record("refused");
      return Response.json({ error: { message: "Missing bearer authentication" } }, {
        status: 401,
      });
    }
    if (req.headers.get("openai-beta") || !url.searchParams.get("model")) {
      record("refused");
      return Response.json({ error: { message: "beta protocol or no model" } }, { status: 400 });
    }
    const { socket, response } = Deno.upgradeWebSocket(req);
    record("accepted");
    const model = url.searchParams.get("model")!;
    this.sessions.push(new FakeRealtimeSession(socket, this, model));
    return response;
  }
}
