/**
 * The reference bridge of the realtime benchmark: the shape most Twilio + Realtime projects start
 * from (Twilio's own Node sample and its many forks), on `node:http` and npm `ws` under Deno.
 * Every frame either way is read with one `JSON.parse` and written with `JSON.stringify`; caller
 * audio goes up as `input_audio_buffer.append`, each audio delta comes back as `media` plus one
 * `mark`; an echoed mark is shifted off a queue. Barge-in is the sample's: on `speech_started`,
 * `conversation.item.truncate` at (latest caller media timestamp − the one when the answer
 * began), then `clear`. No validation, no records, no logs.
 * Usage (by bench/realtime_bench.ts): PORT=… OPENAI_BASE_URL=… OPENAI_API_KEY=… deno run -A
 * bench/reference_bridge.ts
 *
 * @module
 */

import http from "node:http";
import { PCMU_SESSION_UPDATE, WS, type WsSocket } from "./null_bridge.ts";

const OPEN = 1;

/** Bridges one Twilio stream to its own upstream session, as the sample does. */
function bridge(twilio: WsSocket, baseUrl: string, apiKey: string): void {
  const url = `${baseUrl.replace(/^http/, "ws")}/realtime?model=gpt-realtime`;
  const openai = new WS.WebSocket(url, { headers: { Authorization: `Bearer ${apiKey}` } });
  let streamSid: string | null = null;
  let latestMediaTimestamp = 0;
  let lastAssistantItem: string | null = null;
  let markQueue: string[] = [];
  let responseStartTimestamp: number | null = null;

  function sendMark(): void {
    if (!streamSid) return;
    twilio.send(JSON.stringify({ event: "mark", streamSid, mark: { name: "responsePart" } }));
    markQueue.push("responsePart");
  }

  function speechStarted(): void {
    if (markQueue.length === 0 || responseStartTimestamp === null) return;
    const elapsed = latestMediaTimestamp - responseStartTimestamp;
    if (lastAssistantItem) {
      openai.send(JSON.stringify({
        type: "conversation.item.truncate",
        item_id: lastAssistantItem,
        content_index: 0,
        audio_end_ms: elapsed,
      }));
    }
    twilio.send(JSON.stringify({ event: "clear", streamSid }));
    markQueue = [];
    lastAssistantItem = null;
    responseStartTimestamp = null;
  }

  openai.on("open", () => openai.send(PCMU_SESSION_UPDATE));
  openai.on("message", (data) => {
    const event = JSON.parse(data.toString());
    if (event.type === "response.output_audio.delta" && event.delta) {
      twilio.send(JSON.stringify({ event: "media", streamSid, media: { payload: event.delta } }));
      if (responseStartTimestamp === null) responseStartTimestamp = latestMediaTimestamp;
      if (event.item_id) lastAssistantItem = event.item_id;
      sendMark();
    } else if (event.type === "input_audio_buffer.speech_started") {
      speechStarted();
    }
  });
  openai.on("close", () => twilio.close());
  openai.on("error", () => twilio.close());
  twilio.on("message", (data) => {
    const message = JSON.parse(data.toString());
    switch (message.event) {
      case "media":
        latestMediaTimestamp = Number(message.media.timestamp);
        if (openai.readyState === OPEN) {
          openai.send(
            JSON.stringify({ type: "input_audio_buffer.append", audio: message.media.payload }),
          );
        }
        break;
      case "start":
        streamSid = message.start.streamSid;
        responseStartTimestamp = null;
        latestMediaTimestamp = 0;
        break;
      case "mark":
        if (markQueue.length > 0) markQueue.shift();
        break;
    }
  });
  twilio.on("close", () => openai.close());
}

if (import.meta.main) {
  const baseUrl = Deno.env.get("OPENAI_BASE_URL")!;
  const apiKey = Deno.env.get("OPENAI_API_KEY")!;
  const server = http.createServer((_req, res) => res.end("ok"));
  const wss = new WS.WebSocketServer({ server });
  wss.on("connection", (socket) => bridge(socket, baseUrl, apiKey));
  server.listen(Number(Deno.env.get("PORT")), "127.0.0.1");
}
