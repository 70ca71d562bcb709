/**
 * What the voice simulator's browser test makes for itself: the fake microphone's WAV (a tone),
 * a single-bin DFT to find that tone again in the frames, and a TCP proxy whose connections can
 * be cut (a network going away under a call).
 */

/** A 16-bit mono PCM WAV of `seconds` of a `hz` tone at `rate`. */
export function toneWav(hz: number, seconds: number, rate = 48000): Uint8Array {
  const samples = Math.round(rate * seconds);
  const out = new Uint8Array(44 + samples * 2);
  const view = new DataView(out.buffer);
  const text = (at: number, s: string) => [...s].forEach((ch, i) => out[at + i] = ch.charCodeAt(0));
  text(0, "RIFF");
  view.setUint32(4, 36 + samples * 2, true);
  text(8, "WAVEfmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, rate, true);
  view.setUint32(28, rate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  text(36, "data");
  view.setUint32(40, samples * 2, true);
  for (let i = 0; i < samples; i++) {
    view.setInt16(
      44 + i * 2,
      Math.round(0.3 * 32767 * Math.sin(2 * Math.PI * hz * i / rate)),
      true,
    );
  }
  return out;
}

/** The amplitude of `hz` in 8 kHz samples (a single-bin DFT). */
export function amplitude(samples: Float32Array, hz: number): number {
  let re = 0;
  let im = 0;
  for (let i = 0; i < samples.length; i++) {
    re += samples[i] * Math.cos(2 * Math.PI * hz * i / 8000);
    im += samples[i] * Math.sin(2 * Math.PI * hz * i / 8000);
  }
  return 2 * Math.hypot(re, im) / samples.length;
}

/**
 * A TCP proxy on 127.0.0.1 in front of `target` (`host:port`) whose connections the test can cut
 * at once, as a network that goes away does (the peers see the TCP connection reset).
 */
export function cuttableProxy(target: string): { url: string; cut(): void; close(): void } {
  const [hostname, port] = target.split(":");
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  /** Closes `conn` once, whichever side (or the test) gets there first. */
  const shut = (conn: Deno.Conn) => {
    if (!open.delete(conn)) return;
    try {
      conn.close();
    } catch {
      // Already closed under us (the peer went first).
    }
  };
  const pipe = (from: Deno.Conn, to: Deno.Conn) =>
    from.readable.pipeTo(to.writable, {
      preventClose: true,
      preventAbort: true,
      preventCancel: true,
    })
      .catch(() => {})
      .finally(() => {
        shut(from);
        shut(to);
      });
  (async () => {
    for await (const client of listener) {
      const server = await Deno.connect({ hostname, port: Number(port) }).catch(() => null);
      if (!server) {
        client.close();
        continue;
      }
      open.add(client).add(server);
      void pipe(client, server);
      void pipe(server, client);
    }
  })().catch(() => {});
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    cut() {
      for (const conn of [...open]) shut(conn);
    },
    close() {
      this.cut();
      listener.close();
    },
  };
}
