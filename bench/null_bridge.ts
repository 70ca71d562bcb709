/**
 * The floor of the realtime benchmark: a "bridge" that only forwards. By default over the same
 * sockets the service uses (`Deno.upgradeWebSocket` towards Twilio, {@link NoDelayWebSocket}
 * towards OpenAI); `TWILIO_SOCKET=ws` accepts Twilio's sockets on `node:http` + npm `ws` instead,
 * and `UPSTREAM_SOCKET=ws` opens the upstream ones with `ws`, so bench/socket_bench.ts can tell
 * what each socket layer costs. Caller audio goes up as `input_audio_buffer.append`; each audio
 * delta comes back down as `media` plus a `mark`; marks echoed by Twilio are read and dropped.
 * No validation, no barge-in, no records, no logs: whatever this costs, no bridge written on
 * these sockets can cost less, so the benchmark reports the service's figures next to it.
 * Usage (by bench/realtime_bench.ts): PORT=… OPENAI_BASE_URL=… OPENAI_API_KEY=… deno run -A
 * bench/null_bridge.ts
 *
 * @module
 */

import http from "node:http";
import * as ws from "ws";
import { NoDelayWebSocket } from "../lib/platform/ws_client.ts";

/** The least `session.update` a bridge sends: µ-law both ways (the direct calls' too). */
export const PCMU_SESSION_UPDATE = JSON.stringify({
  type: "session.update",
  session: {
    type: "realtime",
    audio: {
      input: { format: { type: "audio/pcmu" } },
      output: { format: { type: "audio/pcmu" } },
    },
  },
});
const PAYLOAD = '"payload":"';
const DELTA = '"delta":"';

/** One side of the bridge, whichever socket carries it. */
interface Side {
  send(text: string): void;
  close(): void;
  open(): boolean;
  on(event: "message", listener: (text: string) => void): void;
  on(event: "open" | "close", listener: () => void): void;
}

/** What the floor uses of a `ws` socket (its types would bring `@types/node`'s globals in). */
export interface WsSocket {
  readonly readyState: number;
  send(data: string): void;
  close(): void;
  on(event: "message", listener: (data: { toString(): string }) => void): void;
  on(event: "open" | "close" | "error", listener: () => void): void;
}

/** `ws`'s client and server classes, typed as far as the benchmark's bridges use them. */
export const WS = ws as unknown as {
  WebSocket: new (url: string, options: { headers: Record<string, string> }) => WsSocket;
  WebSocketServer: new (options: { server: http.Server }) => {
    on(event: "connection", listener: (socket: WsSocket) => void): void;
  };
};

function wsSide(socket: WsSocket): Side {
  return {
    send: (text) => socket.send(text),
    close: () => socket.close(),
    open: () => socket.readyState === 1,
    on: (event: string, listener: (text: string) => void) => {
      if (event === "message") socket.on("message", (data) => listener(data.toString()));
      else socket.on(event as "open" | "close", () => listener(""));
    },
  };
}

function webSide(socket: WebSocket | NoDelayWebSocket): Side {
  const target = socket as WebSocket;
  return {
    send: (text) => socket.send(text),
    close: () => socket.close(),
    open: () => socket.readyState === WebSocket.OPEN,
    on: (event: string, listener: (text: string) => void) => {
      if (event === "message") {
        target.addEventListener("message", (ev) => listener(ev.data as string));
      } else target.addEventListener(event, () => listener(""));
    },
  };
}

/** Forwards one Twilio stream to its own upstream session. */
function bridge(twilio: Side, baseUrl: string, apiKey: string): void {
  const url = `${baseUrl.replace(/^http/, "ws")}/realtime?model=gpt-realtime`;
  const headers = { Authorization: `Bearer ${apiKey}` };
  const upstream = Deno.env.get("UPSTREAM_SOCKET") === "ws"
    ? wsSide(new WS.WebSocket(url, { headers }))
    : webSide(new NoDelayWebSocket(url, { headers }));
  let streamSid = "";
  let marks = 0;
  upstream.on("open", () => upstream.send(PCMU_SESSION_UPDATE));
  upstream.on("message", (data) => {
    if (!data.startsWith('{"type":"response.output_audio.delta"')) return;
    const start = data.indexOf(DELTA) + DELTA.length;
    const delta = data.slice(start, data.indexOf('"', start));
    if (!twilio.open()) return;
    twilio.send(`{"event":"media","streamSid":"${streamSid}","media":{"payload":"${delta}"}}`);
    twilio.send(`{"event":"mark","streamSid":"${streamSid}","mark":{"name":"m${++marks}"}}`);
  });
  upstream.on("close", () => twilio.close());
  twilio.on("message", (data) => {
    if (data.startsWith('{"event":"media"')) {
      const start = data.indexOf(PAYLOAD) + PAYLOAD.length;
      const payload = data.slice(start, data.indexOf('"', start));
      upstream.send(`{"type":"input_audio_buffer.append","audio":"${payload}"}`);
    } else if (data.startsWith('{"event":"start"')) {
      streamSid = JSON.parse(data).streamSid;
    }
  });
  twilio.on("close", () => upstream.close());
}

if (import.meta.main) {
  const baseUrl = Deno.env.get("OPENAI_BASE_URL")!;
  const apiKey = Deno.env.get("OPENAI_API_KEY")!;
  const port = Number(Deno.env.get("PORT"));
  if (Deno.env.get("TWILIO_SOCKET") === "ws") {
    const server = http.createServer((_req, res) => res.end("ok"));
    new WS.WebSocketServer({ server }).on("connection", (socket) => {
      bridge(wsSide(socket), baseUrl, apiKey);
    });
    server.listen(port, "127.0.0.1");
  } else {
    Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, (req) => {
      if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") return new Response("ok");
      const { socket, response } = Deno.upgradeWebSocket(req);
      bridge(webSide(socket), baseUrl, apiKey);
      return response;
    });
  }
}
