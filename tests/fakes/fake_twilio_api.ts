/**
 * A fake Twilio REST API on 127.0.0.1, to use as `TWILIO_API_BASE_URL` with the real `twilio`
 * SDK. It checks the account's Basic auth and the parameters the real API requires, records
 * calls.create, calls(sid).update, messages.create, phone-number updates and recordings
 * (calls(sid).recordings.create, the media as WAV, delete), and answers with
 * the real resources' JSON shape, errors included (`{code, message, more_info, status}`, see
 * `tests/fixtures/twilio_rest_errors.json`).
 *
 * It knows only the calls Twilio has (`TWILIO_CALLS`: the fake call legs and the calls it
 * placed): calls(sid).update and calls(sid).fetch of any other SID get 404 with code 20404. It
 * can also be told to fail the next update (e.g. 500) or to hold updates unanswered until
 * released, as a slow or failing Twilio would.
 */

import restErrors from "../fixtures/twilio_rest_errors.json" with { type: "json" };
import type { TlsCert } from "../helpers/test_ca.ts";
import { EventLog } from "./event_log.ts";
import { TWILIO_CALLS } from "./twilio_calls.ts";

/** One recorded call update (every calls(sid).update request the fake received). */
export interface CallUpdate {
  callSid: string;
  twiml: string;
  authorization: string | null;
  /** The HTTP status it was answered with; null while it is held. */
  status: number | null;
}

/** Twilio's error codes (with their message) for the statuses an update can be failed with. */
const UPDATE_FAILURES: Record<number, { code: number; message: string }> = {
  400: { code: 21220, message: "Call is not in-progress. Cannot redirect." },
  429: { code: 20429, message: "Too Many Requests" },
  500: { code: 20500, message: "An internal server error has occurred" },
  503: { code: 20503, message: "Service Unavailable" },
};

/** One recorded calls.create. */
export interface CallCreate {
  sid: string;
  to: string;
  from: string;
  twiml: string;
  statusCallback: string | null;
  statusCallbackEvents: string[];
  /** `Record=true`: Twilio records the call from when it is answered. */
  record: boolean;
  recordingChannels: string | null;
  recordingStatusCallback: string | null;
  recordingStatusCallbackEvents: string[];
}

/** A recording the fake account has (calls(sid).recordings.create, or a recorded call). */
export interface FakeRecording {
  sid: string;
  callSid: string;
  channels: "mono" | "dual";
  statusCallback: string | null;
  statusCallbackEvents: string[];
  deleted: boolean;
}

/** One recorded messages.create. */
export interface MessageCreate {
  sid: string;
  to: string;
  from: string;
  body: string;
}

/** A phone number the fake account owns. */
export interface OwnedNumber {
  sid: string;
  phoneNumber: string;
  voiceUrl: string;
  voiceMethod: string;
  statusCallback: string;
  statusCallbackMethod: string;
}

const E164 = /^\+[1-9]\d{6,14}$/;

/** The fake REST API server. */
export class FakeTwilioApi {
  readonly updates = new EventLog<CallUpdate>();
  readonly calls = new EventLog<CallCreate>();
  readonly messages = new EventLog<MessageCreate>();
  readonly numbers: OwnedNumber[] = [];
  readonly recordings = new EventLog<FakeRecording>();
  /** Every media request: the recording SID, its Authorization header, the status answered. */
  readonly mediaRequests: { sid: string; authorization: string | null; status: number }[] = [];
  /** Answer the next calls.create with this error status (e.g. 400 for an unverified number). */
  failNextCall: number | null = null;
  /** Answer the next calls(sid).update with this error status (400, 429, 500 or 503). */
  failNextUpdate: number | null = null;
  /** Hold calls(sid).update requests unanswered until {@link releaseUpdates}. */
  holdUpdates = false;
  #held: (() => void)[] = [];
  /** Every list of the account's numbers asked for (its `PhoneNumber` filter, or null). */
  readonly numberLists = new EventLog<string | null>();
  /** Hold lists of the account's numbers unanswered until {@link releaseNumberLists}. */
  holdNumberLists = false;
  #heldLists: (() => void)[] = [];
  #server: Deno.HttpServer<Deno.NetAddr> | null = null;

  constructor(
    readonly accountSid = "AC00000000000000000000000000000000",
    readonly authToken = "test-auth-token-0123456789abcdef",
  ) {}

  /** Starts listening; returns the base URL (`http://127.0.0.1:PORT`, `https://` with `tls`). */
  start(options: { tls?: TlsCert } = {}): string {
    this.#server = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen: () => {}, ...options.tls },
      (req) => this.#handle(req),
    );
    return `${options.tls ? "https" : "http"}://127.0.0.1:${this.#server.addr.port}`;
  }

  /** Answers the held updates (and holds no more). */
  releaseUpdates(): void {
    this.holdUpdates = false;
    for (const release of this.#held.splice(0)) release();
  }

  /** Answers the held lists of numbers (and holds no more). */
  releaseNumberLists(): void {
    this.holdNumberLists = false;
    for (const release of this.#heldLists.splice(0)) release();
  }

  /** Stops the server (answering any held request first). */
  async close(): Promise<void> {
    this.releaseUpdates();
    this.releaseNumberLists();
    await this.#server?.shutdown();
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const account = url.pathname.match(/^\/2010-04-01\/Accounts\/(AC\w+)\.json$/);
    if (account && req.method === "GET") return this.#fetchAccount(account[1], req);
    const match = url.pathname.match(/^\/2010-04-01\/Accounts\/(AC\w+)\/(.+)\.(json|wav)$/);
    if (!match) return error(404, 20404, "The requested resource was not found");
    const expected = `Basic ${btoa(`${this.accountSid}:${this.authToken}`)}`;
    if (match[1] !== this.accountSid || req.headers.get("authorization") !== expected) {
      return error(401, 20003, "Authentication Error - invalid username");
    }
    const form = req.method === "POST"
      ? new URLSearchParams(await req.text())
      : new URLSearchParams();
    const [resource, sid, sub] = match[2].split("/");
    if (match[3] === "wav") {
      if (resource !== "Recordings" || !sid || req.method !== "GET") return notFound(url.pathname);
      return this.#media(sid, req);
    }
    if (resource === "Calls" && sid && sub === "Recordings" && req.method === "POST") {
      return this.#createRecording(sid, form, url.pathname);
    }
    if (resource === "Recordings" && sid && req.method === "DELETE") {
      const recording = this.recordings.items.find((r) => r.sid === sid && !r.deleted);
      if (!recording) return notFound(url.pathname);
      recording.deleted = true;
      return new Response(null, { status: 204 });
    }
    if (resource === "Calls" && !sid && req.method === "POST") return this.#createCall(form);
    if (resource === "Calls" && sid && req.method === "GET") {
      if (!TWILIO_CALLS.has(sid)) return notFound(url.pathname);
      return Response.json(callJson(sid, this.accountSid, "in-progress", "", ""));
    }
    if (resource === "Calls" && sid && req.method === "POST") {
      return this.#updateCall(sid, form, req);
    }
    if (resource === "Messages" && req.method === "POST") return this.#createMessage(form);
    if (resource === "IncomingPhoneNumbers" && !sid && req.method === "GET") {
      const wanted = url.searchParams.get("PhoneNumber");
      this.numberLists.push(wanted);
      if (this.holdNumberLists) await new Promise<void>((release) => this.#heldLists.push(release));
      const found = this.numbers.filter((n) => !wanted || n.phoneNumber === wanted);
      return Response.json({
        incoming_phone_numbers: found.map((n) => numberJson(n, this.accountSid)),
        first_page_uri: url.pathname,
        next_page_uri: null,
        previous_page_uri: null,
        page: 0,
        page_size: 50,
        uri: url.pathname,
        start: 0,
        end: found.length,
      });
    }
    if (resource === "IncomingPhoneNumbers" && sid && req.method === "POST") {
      const number = this.numbers.find((n) => n.sid === sid);
      if (!number) return error(404, 20404, "The requested resource was not found");
      if (form.has("VoiceUrl")) number.voiceUrl = form.get("VoiceUrl")!;
      if (form.has("VoiceMethod")) number.voiceMethod = form.get("VoiceMethod")!;
      if (form.has("StatusCallback")) number.statusCallback = form.get("StatusCallback")!;
      if (form.has("StatusCallbackMethod")) {
        number.statusCallbackMethod = form.get("StatusCallbackMethod")!;
      }
      return Response.json(numberJson(number, this.accountSid));
    }
    return error(405, 20004, "Method not allowed");
  }

  /** A recording of `callSid`, as Twilio makes one when a call placed with `Record` answers. */
  addRecording(callSid: string, options: Partial<FakeRecording> = {}): FakeRecording {
    const recording: FakeRecording = {
      sid: `RE${crypto.randomUUID().replaceAll("-", "")}`,
      callSid,
      channels: "dual",
      statusCallback: null,
      statusCallbackEvents: ["completed"],
      deleted: false,
      ...options,
    };
    this.recordings.push(recording);
    return recording;
  }

  /** calls(sid).recordings.create: checks the parameters as Twilio does; 404 for an unknown call. */
  #createRecording(callSid: string, form: URLSearchParams, path: string): Response {
    if (!TWILIO_CALLS.has(callSid)) return notFound(path);
    const channels = form.get("RecordingChannels") ?? "mono";
    if (channels !== "mono" && channels !== "dual") {
      return error(400, 21202, `RecordingChannels must be mono or dual (got ${channels})`);
    }
    const events = form.getAll("RecordingStatusCallbackEvent").flatMap((e) => e.split(" "));
    if (events.some((e) => !["in-progress", "completed", "absent"].includes(e))) {
      return error(400, 21626, "Invalid 'RecordingStatusCallbackEvent'");
    }
    const callback = form.get("RecordingStatusCallback");
    if (callback !== null && !URL.parse(callback)) {
      return error(400, 21609, "Invalid 'RecordingStatusCallback' URL");
    }
    const recording = this.addRecording(callSid, {
      channels,
      statusCallback: callback,
      statusCallbackEvents: events.length ? events : ["completed"],
    });
    return Response.json({
      sid: recording.sid,
      account_sid: this.accountSid,
      call_sid: callSid,
      conference_sid: null,
      channels: channels === "dual" ? 2 : 1,
      status: "in-progress",
      source: "StartCallRecordingAPI",
      duration: null,
      price: null,
      start_time: new Date().toUTCString(),
      date_created: null,
      date_updated: null,
      error_code: null,
      uri:
        `/2010-04-01/Accounts/${this.accountSid}/Calls/${callSid}/Recordings/${recording.sid}.json`,
    }, { status: 201 });
  }

  /** A recording's media: a WAV (two channels when recorded dual), ranges honoured. */
  #media(sid: string, req: Request): Response {
    const authorization = req.headers.get("authorization");
    const recording = this.recordings.items.find((r) => r.sid === sid && !r.deleted);
    const status = recording ? 200 : 404;
    this.mediaRequests.push({ sid, authorization, status });
    if (!recording) return notFound(new URL(req.url).pathname);
    const wav = fakeWav(recording.channels === "dual" ? 2 : 1);
    const range = req.headers.get("range")?.match(/^bytes=(\d+)-(\d*)$/);
    if (range) {
      const start = Number(range[1]);
      const end = range[2] ? Math.min(Number(range[2]), wav.length - 1) : wav.length - 1;
      return new Response(wav.slice(start, end + 1), {
        status: 206,
        headers: {
          "content-type": "audio/x-wav",
          "content-range": `bytes ${start}-${end}/${wav.length}`,
          "accept-ranges": "bytes",
          "x-twilio-internal": "not for clients",
        },
      });
    }
    return new Response(wav, {
      headers: {
        "content-type": "audio/x-wav",
        "accept-ranges": "bytes",
        "x-twilio-internal": "not for clients",
      },
    });
  }

  /** calls(sid).update: 404 for a call Twilio does not have, else as told (fail, hold, answer). */
  async #updateCall(sid: string, form: URLSearchParams, req: Request): Promise<Response> {
    const update: CallUpdate = {
      callSid: sid,
      twiml: form.get("Twiml") ?? "",
      authorization: req.headers.get("authorization"),
      status: null,
    };
    const answer = (response: Response) => {
      update.status = response.status;
      return response;
    };
    if (!TWILIO_CALLS.has(sid)) {
      this.updates.push(update);
      return answer(notFound(new URL(req.url).pathname));
    }
    if (this.failNextUpdate) {
      const status = this.failNextUpdate;
      this.failNextUpdate = null;
      const failure = UPDATE_FAILURES[status] ?? UPDATE_FAILURES[500];
      this.updates.push(update);
      return answer(error(status, failure.code, failure.message));
    }
    this.updates.push(update);
    if (this.holdUpdates) {
      // Answered on release (or when the fake closes), whatever the client does meanwhile.
      await new Promise<void>((resolve) => this.#held.push(resolve));
    }
    return answer(Response.json(callJson(sid, this.accountSid, "in-progress", "", "")));
  }

  /** `accounts(sid).fetch()`: the account, for credential checks. */
  #fetchAccount(sid: string, req: Request): Response {
    const expected = `Basic ${btoa(`${this.accountSid}:${this.authToken}`)}`;
    if (sid !== this.accountSid || req.headers.get("authorization") !== expected) {
      return error(401, 20003, "Authentication Error - invalid username");
    }
    return Response.json({
      sid,
      friendly_name: "Fake account",
      status: "active",
      type: "Full",
      date_created: new Date().toUTCString(),
      uri: `/2010-04-01/Accounts/${sid}.json`,
    });
  }

  #createCall(form: URLSearchParams): Response {
    const to = form.get("To") ?? "";
    const from = form.get("From") ?? "";
    if (!E164.test(to)) return error(400, 21201, "No 'To' number is specified");
    if (!E164.test(from)) return error(400, 21213, "No 'From' number is specified");
    if (!form.get("Twiml") && !form.get("Url") && !form.get("ApplicationSid")) {
      return error(400, 21205, "Url parameter is required.");
    }
    if (this.failNextCall) {
      const status = this.failNextCall;
      this.failNextCall = null;
      return error(status, 21219, `The number ${to} is unverified.`);
    }
    const sid = `CA${crypto.randomUUID().replaceAll("-", "")}`;
    TWILIO_CALLS.add(sid);
    this.calls.push({
      sid,
      to,
      from,
      twiml: form.get("Twiml") ?? "",
      statusCallback: form.get("StatusCallback"),
      statusCallbackEvents: form.getAll("StatusCallbackEvent"),
      record: form.get("Record") === "true",
      recordingChannels: form.get("RecordingChannels"),
      recordingStatusCallback: form.get("RecordingStatusCallback"),
      recordingStatusCallbackEvents: form.getAll("RecordingStatusCallbackEvent"),
    });
    return Response.json(callJson(sid, this.accountSid, "queued", to, from), { status: 201 });
  }

  #createMessage(form: URLSearchParams): Response {
    const to = form.get("To") ?? "";
    const from = form.get("From") ?? "";
    const body = form.get("Body") ?? "";
    if (!E164.test(to)) {
      return error(400, 21211, `The 'To' number ${to} is not a valid phone number.`);
    }
    if (!from && !form.get("MessagingServiceSid")) {
      return error(400, 21603, "The 'From' phone number is required.");
    }
    if (!body && !form.get("MediaUrl")) return error(400, 21602, "Message body is required.");
    const sid = `SM${crypto.randomUUID().replaceAll("-", "")}`;
    this.messages.push({ sid, to, from, body });
    return Response.json({
      sid,
      account_sid: this.accountSid,
      to,
      from,
      body,
      status: "queued",
      direction: "outbound-api",
      num_segments: "1",
      date_created: new Date().toUTCString(),
      uri: `/2010-04-01/Accounts/${this.accountSid}/Messages/${sid}.json`,
    }, { status: 201 });
  }
}

/** Half a second of a 440 Hz tone as 8 kHz 16-bit PCM WAV, on `channels` channels. */
export function fakeWav(channels: number): Uint8Array<ArrayBuffer> {
  const rate = 8000;
  const frames = rate / 2;
  const data = frames * channels * 2;
  const view = new DataView(new ArrayBuffer(44 + data));
  const text = (at: number, value: string) =>
    [...value].forEach((ch, i) => view.setUint8(at + i, ch.charCodeAt(0)));
  text(0, "RIFF");
  view.setUint32(4, 36 + data, true);
  text(8, "WAVE");
  text(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, channels, true);
  view.setUint32(24, rate, true);
  view.setUint32(28, rate * channels * 2, true);
  view.setUint16(32, channels * 2, true);
  view.setUint16(34, 16, true);
  text(36, "data");
  view.setUint32(40, data, true);
  for (let i = 0; i < frames; i++) {
    const sample = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate));
    for (let ch = 0; ch < channels; ch++) view.setInt16(44 + (i * channels + ch) * 2, sample, true);
  }
  return new Uint8Array(view.buffer);
}

/** Twilio's 404 for a resource it does not have, as the fixture's example words it. */
function notFound(path: string): Response {
  return error(404, 20404, restErrors.notFound.message.replace(/\/2010-04-01\S*\.json/, path));
}

function error(status: number, code: number, message: string): Response {
  return Response.json({
    code,
    message,
    more_info: `https://www.twilio.com/docs/errors/${code}`,
    status,
  }, { status });
}

function callJson(sid: string, account: string, status: string, to: string, from: string) {
  return {
    sid,
    account_sid: account,
    to,
    from,
    status,
    direction: "outbound-api",
    date_created: new Date().toUTCString(),
    uri: `/2010-04-01/Accounts/${account}/Calls/${sid}.json`,
  };
}

function numberJson(n: OwnedNumber, account: string) {
  return {
    sid: n.sid,
    account_sid: account,
    phone_number: n.phoneNumber,
    friendly_name: n.phoneNumber,
    voice_url: n.voiceUrl,
    voice_method: n.voiceMethod,
    status_callback: n.statusCallback,
    status_callback_method: n.statusCallbackMethod,
    uri: `/2010-04-01/Accounts/${account}/IncomingPhoneNumbers/${n.sid}.json`,
  };
}
