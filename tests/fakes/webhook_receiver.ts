/**
 * A team's end-of-call webhook endpoint on 127.0.0.1: records every request (headers, body,
 * whether its signature verifies with the shared secret) and answers each as the test scripts
 * it — a status, or no answer at all (a receiver that hangs, for timeouts).
 */

import { EventLog } from "./event_log.ts";
import { createHmac } from "node:crypto";

/** One request the receiver got. */
export interface WebhookDelivery {
  headers: Headers;
  body: string;
  json: Record<string, unknown>;
  /** The HMAC of `<timestamp>.<body>` with the secret equals the signature header. */
  verified: boolean;
  /** What the receiver answered (null: it held the request). */
  answered: number | null;
}

/** How the receiver answers one request: a status, or `hang` (never answers). */
export type ReceiverAnswer = number | "hang";

/** The receiver. */
export class WebhookReceiver {
  readonly deliveries = new EventLog<WebhookDelivery>();
  #answers: ReceiverAnswer[] = [];
  #server: Deno.HttpServer<Deno.NetAddr>;
  #release = Promise.withResolvers<void>();

  /** Listens now; `secret` is the signing secret the service shares; answers 200 by default. */
  constructor(readonly secret: string | null, readonly fallback: ReceiverAnswer = 200) {
    this.#server = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen: () => {} },
      (req) => this.#handle(req),
    );
  }

  /** The URL to configure. */
  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}/hooks/calls`;
  }

  /** Answers for the next requests, in order (then {@link fallback}). */
  answer(...answers: ReceiverAnswer[]): void {
    this.#answers.push(...answers);
  }

  async #handle(req: Request): Promise<Response> {
    const body = await req.text();
    const answer = this.#answers.shift() ?? this.fallback;
    const timestamp = req.headers.get("x-callbridge-timestamp") ?? "";
    const signature = req.headers.get("x-callbridge-signature") ?? "";
    const verified = this.secret !== null &&
      // Checked as a receiver would, with node:crypto (not the service's own code).
      signature ===
        `sha256=${createHmac("sha256", this.secret).update(`${timestamp}.${body}`).digest("hex")}`;
    this.deliveries.push({
      headers: req.headers,
      body,
      json: JSON.parse(body),
      verified,
      answered: answer === "hang" ? null : answer,
    });
    if (answer === "hang") {
      await this.#release.promise;
      return new Response("late", { status: 200 });
    }
    return new Response(answer < 300 ? "ok" : "unavailable", { status: answer });
  }

  async close(): Promise<void> {
    this.#release.resolve();
    await this.#server.shutdown();
  }
}
