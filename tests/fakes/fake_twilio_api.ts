/**
 * A fake Twilio REST API on 127.0.0.1 that records call updates (`calls(sid).update({ twiml })`),
 * to use as `TWILIO_API_BASE_URL`.
 */

import { EventLog } from "./event_log.ts";

/** One recorded call update. */
export interface CallUpdate {
  callSid: string;
  twiml: string;
  authorization: string | null;
}

/** The fake REST API server. */
export class FakeTwilioApi {
  readonly updates = new EventLog<CallUpdate>();
  #server: Deno.HttpServer<Deno.NetAddr> | null = null;

  /** Starts listening; returns the base URL (`http://127.0.0.1:PORT`). */
  start(): string {
    this.#server = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen: () => {} },
      async (req) => {
        const match = new URL(req.url).pathname.match(
          /^\/2010-04-01\/Accounts\/(AC\w+)\/Calls\/(CA\w+)\.json$/,
        );
        if (req.method !== "POST" || !match) return new Response("not found", { status: 404 });
        const form = new URLSearchParams(await req.text());
        this.updates.push({
          callSid: match[2],
          twiml: form.get("Twiml") ?? "",
          authorization: req.headers.get("authorization"),
        });
        return Response.json({ sid: match[2], account_sid: match[1], status: "in-progress" });
      },
    );
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** Stops the server. */
  async close(): Promise<void> {
    await this.#server?.shutdown();
  }
}
