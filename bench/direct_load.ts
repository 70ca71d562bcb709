/**
 * The direct baseline of the realtime benchmark: the same load as through a bridge (N calls, a
 * 20 ms frame every 20 ms, each timed until its echo comes back), sent by the same client code
 * straight to the fake — its Realtime socket (`session.update` with µ-law, then
 * `input_audio_buffer.append`) or its Live socket (`session.start` with `audio/pcmu`, then
 * `session.input_audio.append`, echoed paced as Live paces its output). A bridge's p99 is read
 * against the direct p99 of its own engine.
 *
 * @module
 */

import { NoDelayWebSocket } from "../lib/platform/ws_client.ts";
import { PCMU_SESSION_UPDATE } from "./null_bridge.ts";
import { type CpuUse, cpuWindow, drive, frame, FrameClock, settle } from "./realtime_load.ts";

/** The frames of one engine's socket: how a session starts, audio goes up and comes back. */
const WIRE = {
  realtime: {
    path: "/realtime?model=gpt-realtime",
    start: PCMU_SESSION_UPDATE,
    ready: '"type":"session.updated"',
    append: '{"type":"input_audio_buffer.append","audio":"',
    delta: '{"type":"response.output_audio.delta"',
  },
  live: {
    path: "/live/sessions",
    start: JSON.stringify({
      type: "session.start",
      session: { model: "gpt-live-1", audio: { format: { type: "audio/pcmu", rate: 8000 } } },
    }),
    ready: '"type":"session.started"',
    append: '{"type":"session.input_audio.append","audio":"',
    delta: '{"type":"session.output_audio.delta"',
  },
};

/** What the direct run measured. */
export interface DirectResult {
  latencies: number[];
  lost: number;
  cpu: CpuUse;
}

/** `calls` calls straight to the fake at `baseUrl` on `engine`, for `seconds`. */
export async function directRun(
  baseUrl: string,
  engine: "realtime" | "live",
  load: { calls: number; seconds: number; apiKey: string },
): Promise<DirectResult> {
  const wire = WIRE[engine];
  const url = `${baseUrl.replace(/^http/, "ws")}${wire.path}`;
  const open: { ws: NoDelayWebSocket; frames: FrameClock }[] = [];
  for (let i = 0; i < load.calls; i++) {
    const ws = new NoDelayWebSocket(url, { headers: { Authorization: `Bearer ${load.apiKey}` } });
    const call = { ws, frames: new FrameClock() };
    const ready = new Promise<void>((resolve, reject) => {
      ws.addEventListener("error", () => reject(new Error("direct socket failed")));
      ws.addEventListener("message", (ev) => {
        const data = ev.data as string;
        const at = performance.now();
        if (data.startsWith(wire.delta)) {
          const start = data.indexOf('"delta":"') + 9;
          call.frames.received(data.slice(start, data.indexOf('"', start)), at);
        } else if (data.includes(wire.ready)) resolve();
      });
    });
    await new Promise<void>((resolve) => ws.addEventListener("open", () => resolve()));
    ws.send(wire.start);
    await ready;
    open.push(call);
  }
  const cpu = await cpuWindow(Deno.pid);
  await drive(
    open.map((call, i) => (seq: number) => {
      call.frames.sent(seq);
      call.ws.send(wire.append + frame(i + 1, seq) + '"}');
    }),
    load.seconds,
  );
  const cpuUse = await cpu();
  await settle(() => open.every((c) => c.frames.done), 2000);
  await Promise.all(open.map((c) =>
    new Promise<void>((resolve) => {
      c.ws.addEventListener("close", () => resolve());
      c.ws.close();
    })
  ));
  return {
    latencies: open.flatMap((c) => c.frames.latencies),
    lost: open.reduce((n, c) => n + c.frames.sentCount - c.frames.receivedCount, 0),
    cpu: cpuUse,
  };
}
