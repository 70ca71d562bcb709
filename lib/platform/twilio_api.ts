/**
 * Twilio's REST API through the `twilio` SDK: placing calls, replacing a live call's TwiML,
 * sending texts, and recordings (start, media, delete). `TWILIO_API_BASE_URL` points it elsewhere (tests use a local fake).
 *
 * @module
 */

import twilio from "twilio";
import type { Config } from "./config.ts";

const DEFAULT_API = "https://api.twilio.com";
/** The recording events the service asks Twilio to report. */
const RECORDING_EVENTS = ["in-progress", "completed", "absent"] as const;

/** Sends every REST request to `base` instead of api.twilio.com (loopback tests). */
class BaseUrlRequestClient extends twilio.RequestClient {
  constructor(private readonly base: string) {
    super();
  }
  // deno-lint-ignore no-explicit-any -- the SDK's own generic signature
  override request<TData>(opts: any): Promise<any> {
    opts.uri = String(opts.uri).replace(DEFAULT_API, this.base);
    return super.request<TData>(opts);
  }
}

/** What the service does through Twilio's REST API. */
export interface TwilioApi {
  /**
   * Places a call running `twiml`; resolves with its SID. With `recordingStatusCallback`,
   * Twilio records it in two channels from when it is answered and reports there.
   */
  createCall(call: {
    to: string;
    twiml: string;
    statusCallback: string | null;
    recordingStatusCallback?: string | null;
  }): Promise<string>;
  /** Starts recording a live call in two channels, reported to `statusCallback`. */
  startRecording(callSid: string, statusCallback: string): Promise<string>;
  /**
   * A recording's media (WAV) from Twilio, fetched with the account's credentials; `range` is
   * passed on (seeking). The response is Twilio's: stream its body, keep its URL to yourself.
   */
  fetchRecording(recordingSid: string, range: string | null): Promise<Response>;
  /** Replaces the TwiML of a live call (hang up, transfer, fallback). */
  updateCall(callSid: string, twiml: string): Promise<void>;
  /** Sends a text from the service's number; null when `TWILIO_PHONE_NUMBER` is unset. */
  sendSms: ((message: { to: string; body: string }) => Promise<{ sid: string }>) | null;
  /** Deletes a recording (a call deleted for a privacy request); one already gone is fine. */
  deleteRecording(recordingSid: string): Promise<void>;
  /** The SDK client, for what the service does rarely (number set-up). */
  client: twilio.Twilio;
}

/** The REST API client when an account SID and auth token are configured, else null. */
export function createTwilioApi(config: Config): TwilioApi | null {
  const { accountSid, authToken, apiBaseUrl } = config.twilio;
  if (!accountSid || !authToken) return null;
  const httpClient = apiBaseUrl === DEFAULT_API ? undefined : new BaseUrlRequestClient(apiBaseUrl);
  const client = twilio(accountSid, authToken, { httpClient, autoRetry: false });
  const from = config.twilioPhoneNumber;
  return {
    client,
    async createCall({ to, twiml, statusCallback, recordingStatusCallback }) {
      if (!from) throw new Error("TWILIO_PHONE_NUMBER is not set");
      const call = await client.calls.create({
        to,
        from,
        twiml,
        ...(recordingStatusCallback
          ? {
            record: true,
            recordingChannels: "dual",
            recordingStatusCallback,
            recordingStatusCallbackMethod: "POST",
            recordingStatusCallbackEvent: [...RECORDING_EVENTS],
          }
          : {}),
        ...(statusCallback
          ? {
            statusCallback,
            statusCallbackMethod: "POST",
            statusCallbackEvent: ["initiated", "ringing", "answered", "completed"],
          }
          : {}),
      });
      return call.sid;
    },
    async updateCall(callSid, twiml) {
      await client.calls(callSid).update({ twiml });
    },
    async startRecording(callSid, statusCallback) {
      const recording = await client.calls(callSid).recordings.create({
        recordingChannels: "dual",
        recordingStatusCallback: statusCallback,
        recordingStatusCallbackMethod: "POST",
        recordingStatusCallbackEvent: [...RECORDING_EVENTS],
      });
      return recording.sid;
    },
    async fetchRecording(recordingSid, range) {
      if (!/^RE[0-9a-fA-F]{32}$/.test(recordingSid)) throw new Error("not a recording SID");
      const url = `${apiBaseUrl}/2010-04-01/Accounts/${accountSid}/Recordings/${recordingSid}.wav`;
      return await fetch(url, {
        headers: {
          authorization: `Basic ${btoa(`${accountSid}:${authToken}`)}`,
          ...(range ? { range } : {}),
        },
        redirect: "follow",
      });
    },
    async deleteRecording(recordingSid) {
      try {
        await client.recordings(recordingSid).remove();
      } catch (err) {
        // Deleted already (a deletion retried): what was asked for is done.
        if ((err as { status?: number }).status !== 404) throw err;
      }
    },
    sendSms: from
      ? async ({ to, body }) => {
        const message = await client.messages.create({ to, from, body });
        return { sid: message.sid };
      }
      : null,
  };
}
