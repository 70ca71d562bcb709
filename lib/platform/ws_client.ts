/**
 * A minimal RFC 6455 WebSocket client over a TCP socket with Nagle's algorithm off.
 *
 * Why: Deno's built-in `WebSocket` client leaves Nagle on, and a small frame written right after
 * another to a peer that does not answer (the Realtime API never answers an audio append) was
 * measured held for up to ~45 ms on loopback. The bridge's upstream writes exactly that pattern.
 * The surface mirrors the `WebSocket` the bridge uses: `readyState`, `send`, `close` and the
 * `open`/`message`/`error`/`close` events; pings are answered.
 *
 * It carries 50 frames a second each way per call, so the hot path allocates little: a frame is
 * encoded, framed and masked straight into the connection's output buffer, the frames sent in one
 * task go out in one write, incoming frames are cut from the read buffer without a promise each,
 * and a message is handed to the listeners as a plain `{ type, data }` object.
 *
 * @module
 */

import { MAX_KEPT_BUFFER_BYTES, MAX_MESSAGE_BYTES, WsFrameReader } from "./ws_frame_reader.ts";
import { acceptKey, handshakeProblem } from "./ws_handshake.ts";

const CLOSE_TIMEOUT_MS = 2000;
/** Initial size of each of the two output buffers (one filling while the other is written). */
const WRITE_BUFFER_BYTES = 1024;
/** Largest frame header: 2 bytes, 8 of extended length, 4 of mask key. */
const MAX_HEADER_BYTES = 14;
/** Masking keys drawn from the CSPRNG at a time. */
const MASK_BLOCK = 256;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Options of {@link NoDelayWebSocket}. */
export interface NoDelayWebSocketOptions {
  headers?: Record<string, string>;
}

/** A message received: text as a string, binary as an ArrayBuffer (like `MessageEvent`). */
export interface NoDelayMessageEvent {
  readonly type: "message";
  readonly data: string | ArrayBuffer;
}

type MessageListener = (ev: NoDelayMessageEvent) => void;

/** A client WebSocket (ws:// or wss://) whose TCP socket has TCP_NODELAY set. */
export class NoDelayWebSocket extends EventTarget {
  #state: number = WebSocket.CONNECTING;
  #conn: Deno.Conn | null = null;
  #onMessage: MessageListener[] = [];
  /** Frames not yet handed to the socket, and the buffer the write in flight reads from. */
  #out = new Uint8Array(WRITE_BUFFER_BYTES);
  #outLength = 0;
  #spare = new Uint8Array(WRITE_BUFFER_BYTES);
  /** UTF-8 of the text being sent, before it is masked into `#out`. */
  #scratch = new Uint8Array(WRITE_BUFFER_BYTES);
  #flushQueued = false;
  #writing = false;
  /** A close frame is in `#out`: nothing may follow it, and the socket closes once it is written. */
  #closeQueued = false;
  #closeSent = false;
  #closeCode = 1006;
  #closeReason = "";
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Masking keys not used yet (see {@link #nextMask}). */
  #masks = new Uint32Array(MASK_BLOCK);
  #maskAt = MASK_BLOCK;
  #flush = (): void => {
    this.#flushQueued = false;
    this.#pump();
  };

  constructor(url: string, options: NoDelayWebSocketOptions = {}) {
    super();
    this.#run(new URL(url), options.headers ?? {}).then(
      () => this.#finish(),
      () => this.#finish(),
    );
  }

  /** Typed like `WebSocket`'s listeners; a message listener gets a {@link NoDelayMessageEvent}. */
  override addEventListener(type: "message", cb: MessageListener): void;
  override addEventListener(type: "close", cb: (ev: CloseEvent) => void): void;
  override addEventListener(type: "open" | "error", cb: (ev: Event) => void): void;
  override addEventListener(type: string, cb: (ev: never) => void): void {
    if (type === "message") this.#onMessage.push(cb as MessageListener);
    else super.addEventListener(type, cb as EventListener);
  }

  /** Removes a listener added with {@link addEventListener}. */
  override removeEventListener(type: "message", cb: MessageListener): void;
  override removeEventListener(
    type: string,
    cb: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
  override removeEventListener(
    type: string,
    cb: MessageListener | EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void {
    if (type === "message") this.#onMessage = this.#onMessage.filter((l) => l !== cb);
    else super.removeEventListener(type, cb as EventListenerOrEventListenerObject | null, options);
  }

  /** CONNECTING, OPEN, CLOSING or CLOSED, as `WebSocket.readyState`. */
  get readyState(): number {
    return this.#state;
  }

  /** Queues a text (or binary) frame; dropped unless open, like a closing WebSocket. */
  send(data: string | Uint8Array): void {
    if (this.#state !== WebSocket.OPEN) return;
    if (typeof data !== "string") return this.#frame(0x2, data, data.length);
    // Text is mostly ASCII: try a buffer of its length first, the UTF-8 worst case if needed.
    let scratch = this.#scratch;
    if (scratch.length < data.length) scratch = this.#scratch = new Uint8Array(data.length * 2);
    let { read, written } = encoder.encodeInto(data, scratch);
    if (read < data.length) {
      scratch = new Uint8Array(data.length * 3);
      written = encoder.encodeInto(data, scratch).written;
    }
    this.#frame(0x1, scratch, written);
    if (this.#scratch.length > MAX_KEPT_BUFFER_BYTES) {
      this.#scratch = new Uint8Array(WRITE_BUFFER_BYTES);
    }
  }

  /** Starts the closing handshake (or abandons the connection attempt). */
  close(code = 1000, reason = ""): void {
    if (this.#state === WebSocket.CLOSING || this.#state === WebSocket.CLOSED) return;
    this.#closeCode = code;
    this.#closeReason = reason;
    if (this.#state === WebSocket.CONNECTING) {
      this.#state = WebSocket.CLOSING;
      this.#conn?.close();
      this.#conn = null;
      return;
    }
    this.#state = WebSocket.CLOSING;
    this.#sendClose(code, reason, false);
    // The peer answers with its close frame (then the read loop ends); don't wait for ever.
    this.#closeTimer = setTimeout(() => {
      this.#conn?.close();
      this.#conn = null;
    }, CLOSE_TIMEOUT_MS);
  }

  async #run(url: URL, headers: Record<string, string>): Promise<void> {
    const secure = url.protocol === "wss:";
    const port = Number(url.port) || (secure ? 443 : 80);
    const tcp = await Deno.connect({ hostname: url.hostname, port });
    tcp.setNoDelay(true);
    const conn: Deno.Conn = secure ? await Deno.startTls(tcp, { hostname: url.hostname }) : tcp;
    if (this.#state !== WebSocket.CONNECTING) {
      conn.close();
      return this.#finish();
    }
    this.#conn = conn;
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    const lines = [
      `GET ${url.pathname}${url.search} HTTP/1.1`,
      `Host: ${url.host}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Key: ${key}`,
      "Sec-WebSocket-Version: 13",
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    ];
    await writeAll(conn, encoder.encode(`${lines.join("\r\n")}\r\n\r\n`));
    const reader = new WsFrameReader(conn);
    const refusal = handshakeProblem(await reader.readHead(), await acceptKey(key));
    if (refusal) {
      this.#closeCode = 1006;
      throw new Error(`handshake refused: ${refusal}`);
    }
    if (this.#state !== WebSocket.CONNECTING) throw new Error("closed while connecting");
    this.#state = WebSocket.OPEN;
    this.dispatchEvent(new Event("open"));
    await this.#readFrames(reader);
  }

  /** Handles every frame as it arrives, until the peer's close frame (or the connection ends). */
  async #readFrames(reader: WsFrameReader): Promise<void> {
    /** Fragments of a message split over several frames (rare), copied out of the buffer. */
    let parts: Uint8Array[] = [];
    let partsBytes = 0;
    let messageOpcode = 0;
    while (true) {
      const frame = reader.nextFrame();
      if (frame === null) {
        await reader.fill();
        continue;
      }
      const { opcode, fin, payload } = frame;
      if (opcode === 0x8) {
        this.#closeCode = payload.length >= 2 ? (payload[0] << 8) | payload[1] : 1005;
        this.#closeReason = decoder.decode(payload.subarray(2));
        this.#sendClose(this.#closeCode, "");
        return;
      }
      if (opcode === 0x9) {
        this.#frame(0xa, payload, payload.length);
        continue;
      }
      if (opcode === 0xa) continue;
      let whole = payload;
      if (opcode !== 0) messageOpcode = opcode;
      if (!fin || parts.length > 0) {
        parts.push(payload.slice());
        partsBytes += payload.length;
        if (partsBytes > MAX_MESSAGE_BYTES) throw new Error("message too large");
        if (!fin) continue;
        whole = concat(parts, partsBytes);
        parts = [];
        partsBytes = 0;
      }
      if (this.#state !== WebSocket.OPEN) continue;
      const data = messageOpcode === 0x1 ? decoder.decode(whole) : whole.slice().buffer;
      this.#dispatchMessage({ type: "message", data });
    }
  }

  /** Calls the message listeners directly: a listener's exception is reported, not fatal here. */
  #dispatchMessage(ev: NoDelayMessageEvent): void {
    for (const listener of this.#onMessage) {
      try {
        listener(ev);
      } catch (err) {
        reportError(err);
      }
    }
  }

  #sendClose(code: number, reason: string, thenClose = true): void {
    if (this.#closeSent) return;
    this.#closeSent = true;
    const text = encoder.encode(reason);
    const body = new Uint8Array(2 + text.length);
    body[0] = code >> 8;
    body[1] = code & 0xff;
    body.set(text, 2);
    this.#frame(0x8, body, body.length);
    if (thenClose) this.#closeQueued = true;
  }

  /**
   * Appends one client frame (FIN set, masked as RFC 6455 requires) with the first `n` bytes of
   * `payload` to the output buffer, and makes sure it is written this task.
   */
  #frame(opcode: number, payload: Uint8Array, n: number): void {
    if (this.#closeQueued || !this.#conn) return;
    const need = this.#outLength + MAX_HEADER_BYTES + n;
    if (need > this.#out.length) {
      const grown = new Uint8Array(Math.max(need, this.#out.length * 2));
      grown.set(this.#out.subarray(0, this.#outLength));
      this.#out = grown;
    }
    const out = this.#out;
    let at = this.#outLength;
    out[at++] = 0x80 | opcode;
    if (n < 126) out[at++] = 0x80 | n;
    else if (n < 65536) {
      out[at++] = 0x80 | 126;
      out[at++] = n >> 8;
      out[at++] = n & 0xff;
    } else {
      out[at++] = 0x80 | 127;
      out.fill(0, at, at + 4); // the high 32 bits of the length
      at += 4;
      out[at++] = n >>> 24;
      out[at++] = (n >>> 16) & 0xff;
      out[at++] = (n >>> 8) & 0xff;
      out[at++] = n & 0xff;
    }
    const mask = this.#nextMask();
    const m0 = mask >>> 24, m1 = (mask >>> 16) & 0xff, m2 = (mask >>> 8) & 0xff, m3 = mask & 0xff;
    out[at++] = m0;
    out[at++] = m1;
    out[at++] = m2;
    out[at++] = m3;
    let i = 0;
    for (const end = n - 3; i < end; i += 4, at += 4) {
      out[at] = payload[i] ^ m0;
      out[at + 1] = payload[i + 1] ^ m1;
      out[at + 2] = payload[i + 2] ^ m2;
      out[at + 3] = payload[i + 3] ^ m3;
    }
    for (; i < n; i++, at++) out[at] = payload[i] ^ (i & 2 ? (i & 1 ? m3 : m2) : i & 1 ? m1 : m0);
    this.#outLength = at;
    if (!this.#writing && !this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flush);
    }
  }

  /**
   * A fresh masking key from the CSPRNG (RFC 6455 §5.3: it must be unpredictable). Keys are
   * drawn from a block filled by `crypto.getRandomValues` 256 at a time, not one call a frame.
   */
  #nextMask(): number {
    if (this.#maskAt === MASK_BLOCK) {
      crypto.getRandomValues(this.#masks);
      this.#maskAt = 0;
    }
    return this.#masks[this.#maskAt++];
  }

  /** Writes the output buffer, swapping buffers so frames queued meanwhile go in the next write. */
  async #pump(): Promise<void> {
    if (this.#writing) return;
    this.#writing = true;
    try {
      while (this.#outLength > 0 && this.#conn) {
        const bytes = this.#out;
        const n = this.#outLength;
        this.#out = this.#spare;
        this.#outLength = 0;
        await writeAll(this.#conn, bytes.subarray(0, n));
        this.#spare = bytes.length > MAX_KEPT_BUFFER_BYTES
          ? new Uint8Array(WRITE_BUFFER_BYTES)
          : bytes;
      }
      // After a close frame, or once the read side has ended while this write was in flight.
      if (this.#closeQueued || this.#state === WebSocket.CLOSED) {
        this.#conn?.close();
        this.#conn = null;
      }
    } catch {
      this.#conn?.close();
      this.#conn = null;
    } finally {
      this.#writing = false;
    }
  }

  #finish(): void {
    if (this.#state === WebSocket.CLOSED) return;
    clearTimeout(this.#closeTimer);
    const wasOpen = this.#state === WebSocket.OPEN;
    const clean = this.#closeSent;
    if (!this.#writing && !this.#flushQueued) {
      this.#conn?.close();
      this.#conn = null;
    }
    this.#state = WebSocket.CLOSED;
    if (!clean && !wasOpen) this.dispatchEvent(new Event("error"));
    this.dispatchEvent(
      new CloseEvent("close", {
        code: this.#closeCode,
        reason: this.#closeReason,
        wasClean: clean,
      }),
    );
  }
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}
