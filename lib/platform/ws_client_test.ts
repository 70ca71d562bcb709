/**
 * The upstream WebSocket client (lib/platform/ws_client.ts) against Deno's server and against a raw TCP
 * peer that writes frames by hand: lengths of every size class, UTF-8, fragments, pings, frames
 * split across reads, masking, and the close handshake from both sides.
 */

import assert from "node:assert/strict";
import { type NoDelayMessageEvent, NoDelayWebSocket } from "./ws_client.ts";
import { handshakeProblem } from "./ws_handshake.ts";
import { EventLog } from "../../tests/fakes/event_log.ts";

function messages(ws: NoDelayWebSocket): EventLog<string | ArrayBuffer> {
  const log = new EventLog<string | ArrayBuffer>();
  ws.addEventListener("message", (ev: NoDelayMessageEvent) => log.push(ev.data));
  return log;
}

function opened(ws: NoDelayWebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.addEventListener("open", () => resolve());
    ws.addEventListener("error", () => reject(new Error("socket failed")));
  });
}

function closed(ws: NoDelayWebSocket): Promise<CloseEvent> {
  return new Promise((resolve) => ws.addEventListener("close", (ev) => resolve(ev)));
}

Deno.test("ws_client: echo through Deno's server, every length class, UTF-8, binary, many back to back", async () => {
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.addEventListener("message", (ev) => socket.send(ev.data));
    return response;
  });
  try {
    const ws = new NoDelayWebSocket(`ws://127.0.0.1:${server.addr.port}/`);
    const log = messages(ws);
    await opened(ws);
    const texts = [
      "",
      "a",
      "x".repeat(125),
      "y".repeat(126),
      "é€😀".repeat(50),
      "z".repeat(65535),
      "w".repeat(70000),
      "ü".repeat(40000),
    ];
    for (const text of texts) ws.send(text);
    for (let i = 0; i < 500; i++) ws.send(`frame ${i}`);
    const binary = new Uint8Array(300).map((_, i) => i & 0xff);
    ws.send(binary);
    await log.waitFor(() => log.items.length === texts.length + 501, { what: "every echo" });
    assert.deepEqual(log.items.slice(0, texts.length), texts);
    assert.deepEqual(
      log.items.slice(texts.length, texts.length + 500),
      Array.from({ length: 500 }, (_, i) => `frame ${i}`),
    );
    assert.deepEqual(new Uint8Array(log.items.at(-1) as ArrayBuffer), binary);
    const done = closed(ws);
    ws.close(1000, "bye");
    const ev = await done;
    assert.equal(ev.wasClean, true);
    assert.equal(ws.readyState, WebSocket.CLOSED);
    ws.send("dropped after close");
  } finally {
    await server.shutdown();
  }
});

/** A raw peer: accepts one client, answers the handshake, then runs `script` on the socket. */
function rawPeer(
  script: (conn: Deno.Conn, read: (n: number) => Promise<Uint8Array>) => Promise<void>,
  respond = (accept: string) =>
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
): { url: string; done: Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const done = (async () => {
    const conn = await listener.accept();
    listener.close();
    let buffered = new Uint8Array(0);
    const read = async (n: number): Promise<Uint8Array> => {
      while (buffered.length < n) {
        const chunk = new Uint8Array(65536);
        const got = await conn.read(chunk);
        if (got === null) throw new Error("client closed");
        const joined = new Uint8Array(buffered.length + got);
        joined.set(buffered);
        joined.set(chunk.subarray(0, got), buffered.length);
        buffered = joined;
      }
      const out = buffered.slice(0, n);
      buffered = buffered.slice(n);
      return out;
    };
    let head = "";
    while (!head.includes("\r\n\r\n")) head += String.fromCharCode(...await read(1));
    const key = head.match(/Sec-WebSocket-Key: (\S+)/i)![1];
    const digest = await crypto.subtle.digest(
      "SHA-1",
      new TextEncoder().encode(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"),
    );
    const accept = btoa(String.fromCharCode(...new Uint8Array(digest)));
    await conn.write(new TextEncoder().encode(respond(accept)));
    try {
      await script(conn, read);
    } finally {
      conn.close();
    }
  })();
  return { url: `ws://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/`, done };
}

/** An unmasked server frame. */
function serverFrame(opcode: number, payload: Uint8Array, fin = true, longLength = false) {
  const n = payload.length;
  const header = longLength || n >= 65536 ? 10 : n >= 126 ? 4 : 2;
  const out = new Uint8Array(header + n);
  out[0] = (fin ? 0x80 : 0) | opcode;
  if (header === 2) out[1] = n;
  else if (header === 4) {
    out[1] = 126;
    out[2] = n >> 8;
    out[3] = n & 0xff;
  } else {
    out[1] = 127;
    new DataView(out.buffer).setUint32(6, n);
  }
  out.set(payload, header);
  return out;
}

/** Reads one client frame: checks the mask bit and unmasks. */
async function clientFrame(read: (n: number) => Promise<Uint8Array>) {
  const [b0, b1] = await read(2);
  assert.ok(b1 & 0x80, "client frames are masked");
  let n = b1 & 0x7f;
  if (n === 126) n = new DataView((await read(2)).buffer).getUint16(0);
  else if (n === 127) n = new DataView((await read(8)).buffer).getUint32(4);
  const mask = await read(4);
  const payload = (await read(n)).map((b, i) => b ^ mask[i & 3]);
  return { fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, payload, mask };
}

Deno.test("ws_client: fragments, pings, split reads, 64-bit lengths, and the server's close", async () => {
  const enc = new TextEncoder();
  const pong = Promise.withResolvers<Uint8Array>();
  const peer = rawPeer(async (conn, read) => {
    // A text message in three fragments with a ping between them, written byte by byte.
    const bytes = [
      serverFrame(0x1, enc.encode("frag"), false),
      serverFrame(0x9, enc.encode("ping!")),
      serverFrame(0x0, enc.encode("men"), false),
      serverFrame(0x0, enc.encode("ted ✓"), true),
    ];
    for (const frame of bytes) {
      for (let i = 0; i < frame.length; i++) await conn.write(frame.subarray(i, i + 1));
    }
    const reply = await clientFrame(read);
    assert.equal(reply.opcode, 0xa);
    pong.resolve(reply.payload);
    // A small message sent with a 64-bit length, then a large one in one write with a small one.
    await conn.write(serverFrame(0x1, enc.encode("long form"), true, true));
    const big = enc.encode("b".repeat(200_000));
    const both = new Uint8Array([...serverFrame(0x1, big), ...serverFrame(0x1, enc.encode("s"))]);
    await conn.write(both);
    // What the client sends is framed and masked correctly.
    const text = await clientFrame(read);
    assert.equal(text.opcode, 0x1);
    assert.equal(new TextDecoder().decode(text.payload), "héllo");
    await conn.write(serverFrame(0x8, new Uint8Array([0x03, 0xe9, ...enc.encode("going away")])));
    const close = await clientFrame(read);
    assert.equal(close.opcode, 0x8);
    assert.deepEqual([...close.payload.subarray(0, 2)], [0x03, 0xe9]);
  });
  const ws = new NoDelayWebSocket(peer.url);
  const log = messages(ws);
  const done = closed(ws);
  await opened(ws);
  assert.equal(await log.waitFor(() => true, { what: "fragmented message" }), "fragmented ✓");
  assert.equal(new TextDecoder().decode(await pong.promise), "ping!");
  await log.waitFor(() => log.items.length === 4, { what: "three more messages" });
  assert.deepEqual(log.items.slice(1).map((m) => (m as string).length), [9, 200_000, 1]);
  ws.send("héllo");
  const ev = await done;
  assert.equal(ev.code, 1001);
  assert.equal(ev.reason, "going away");
  assert.equal(ev.wasClean, true);
  await peer.done;
});

Deno.test("ws_client: a refused handshake is an error then a close, never open", async () => {
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    () => new Response("no", { status: 401 }),
  );
  try {
    const ws = new NoDelayWebSocket(`ws://127.0.0.1:${server.addr.port}/`);
    let error = false;
    ws.addEventListener("error", () => error = true);
    ws.addEventListener("open", () => assert.fail("opened"));
    const ev = await closed(ws);
    assert.equal(error, true);
    assert.equal(ev.code, 1006);
  } finally {
    await server.shutdown();
  }
});

Deno.test("ws_client: the handshake needs 101, Upgrade, Connection and the exact Sec-WebSocket-Accept", () => {
  const accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
  const ok = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" +
    `Connection: Upgrade\r\nSec-WebSocket-Accept: ${accept}`;
  assert.equal(handshakeProblem(ok, accept), null);
  assert.equal(
    handshakeProblem(ok.replace("Upgrade: websocket", "upgrade: WebSocket"), accept),
    null,
  );
  const wrong: [string, string][] = [
    [ok.replace("101 Switching", "200 OK"), "status"],
    [ok.replace("Upgrade: websocket\r\n", ""), "no Upgrade"],
    [ok.replace("Connection: Upgrade", "Connection: keep-alive"), "no Connection"],
    // The right value somewhere else in the head is not an accept (it used to be taken).
    [
      ok.replace(accept, "bm90IHRoZSBrZXk=") + `\r\nX-Echo: ${accept}`,
      "wrong Sec-WebSocket-Accept",
    ],
    [ok.replace(accept, `${accept}x`), "wrong Sec-WebSocket-Accept"],
    [ok.replace(accept, accept.toLowerCase()), "wrong Sec-WebSocket-Accept"],
    [`${ok}\r\nSec-WebSocket-Accept: ${accept}`, "wrong Sec-WebSocket-Accept"],
  ];
  for (const [head, problem] of wrong) {
    assert.match(String(handshakeProblem(head, accept)), new RegExp(`^${problem}`), head);
  }
});

Deno.test("ws_client: a server whose accept is not the exact one is refused, never opened", async () => {
  const peer = rawPeer(
    () => Promise.resolve(),
    (accept) =>
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: nope\r\nX-Accept-Echo: ${accept}\r\n\r\n`,
  );
  const ws = new NoDelayWebSocket(peer.url);
  ws.addEventListener("open", () => assert.fail("opened"));
  const ev = await closed(ws);
  assert.equal(ev.code, 1006);
  await peer.done.catch(() => {});
});

Deno.test("ws_client: every frame's masking key comes from crypto.getRandomValues", async () => {
  const drawn: number[] = [];
  const real = crypto.getRandomValues.bind(crypto);
  // deno-lint-ignore no-explicit-any -- the spy forwards any typed array
  (crypto as any).getRandomValues = <T extends ArrayBufferView | null>(array: T): T => {
    const out = real(array as never) as T;
    if (out instanceof Uint32Array) drawn.push(...out);
    return out;
  };
  try {
    const FRAMES = 600; // more than one block of keys
    const masks: number[] = [];
    const peer = rawPeer(async (_conn, read) => {
      for (let i = 0; i < FRAMES; i++) {
        const frame = await clientFrame(read);
        assert.equal(new TextDecoder().decode(frame.payload), `f${i}`);
        masks.push(new DataView(frame.mask.buffer).getUint32(0));
      }
    });
    const ws = new NoDelayWebSocket(peer.url);
    await opened(ws);
    for (let i = 0; i < FRAMES; i++) ws.send(`f${i}`);
    await peer.done;
    ws.close();
    assert.deepEqual(masks, drawn.slice(0, FRAMES), "the keys, in the order they were drawn");
    assert.ok(new Set(masks).size > FRAMES - 5, "no key reused");
  } finally {
    crypto.getRandomValues = real;
  }
});
