/**
 * The floor of the realtime benchmark: a "bridge" that only forwards, over the same sockets the
 * service uses (`Deno.upgradeWebSocket` towards Twilio, {@link NoDelayWebSocket} towards OpenAI).
 * Caller audio goes up as `input_audio_buffer.append`; each audio delta comes back down as `media`
 * plus a `mark`; marks echoed by Twilio are read and dropped. No validation, no barge-in, no
 * records, no logs: whatever this costs, no bridge written on this runtime can cost less, so the
 * benchmark reports the service's figures next to it.
 * Usage (by bench/realtime_bench.ts): PORT=… OPENAI_BASE_URL=… OPENAI_API_KEY=… deno run -A bench/null_bridge.ts
 */

import { NoDelayWebSocket } from "../lib/platform/ws_client.ts";

/** The least `session.update` a bridge sends: µ-law both ways (the benchmark's direct calls too). */
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

/** Forwards one Twilio stream to its own upstream session. */
function bridge(twilio: WebSocket, baseUrl: string, apiKey: string): void {
  const url = `${baseUrl.replace(/^http/, "ws")}/realtime?model=gpt-realtime`;
  const upstream = new NoDelayWebSocket(url, { headers: { Authorization: `Bearer ${apiKey}` } });
  let streamSid = "";
  let marks = 0;
  upstream.addEventListener("open", () => upstream.send(PCMU_SESSION_UPDATE));
  upstream.addEventListener("message", (ev) => {
    const data = ev.data as string;
    if (!data.startsWith('{"type":"response.output_audio.delta"')) return;
    const start = data.indexOf(DELTA) + DELTA.length;
    const delta = data.slice(start, data.indexOf('"', start));
    if (twilio.readyState !== WebSocket.OPEN) return;
    twilio.send(`{"event":"media","streamSid":"${streamSid}","media":{"payload":"${delta}"}}`);
    twilio.send(`{"event":"mark","streamSid":"${streamSid}","mark":{"name":"m${++marks}"}}`);
  });
  upstream.addEventListener("close", () => twilio.close());
  twilio.addEventListener("message", (ev) => {
    const data = ev.data as string;
    if (data.startsWith('{"event":"media"')) {
      const start = data.indexOf(PAYLOAD) + PAYLOAD.length;
      const payload = data.slice(start, data.indexOf('"', start));
      upstream.send(`{"type":"input_audio_buffer.append","audio":"${payload}"}`);
    } else if (data.startsWith('{"event":"start"')) {
      streamSid = JSON.parse(data).streamSid;
    }
  });
  twilio.addEventListener("close", () => upstream.close());
}

if (import.meta.main) {
  const baseUrl = Deno.env.get("OPENAI_BASE_URL")!;
  const apiKey = Deno.env.get("OPENAI_API_KEY")!;
  Deno.serve({
    hostname: "127.0.0.1",
    port: Number(Deno.env.get("PORT")),
    onListen: () => {},
  }, (req) => {
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") return new Response("ok");
    const { socket, response } = Deno.upgradeWebSocket(req);
    bridge(socket, baseUrl, apiKey);
    return response;
  });
}
