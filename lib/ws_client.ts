/**
 * A minimal RFC 6455 WebSocket client over a TCP socket with Nagle's algorithm off.
 *
 * Why: Deno's built-in `WebSocket` client leaves Nagle on, and a small frame written right after
 * another to a peer that does not answer (the Realtime API never answers an audio append) was
 * measured held for up to ~45 ms on loopback. The bridge's upstream writes exactly that pattern.
 * The surface mirrors the `WebSocket` the bridge uses: `readyState`, `send`, `close` and the
 * `open`/`message`/`error`/`close` events; pings are answered.
 */

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
const CLOSE_TIMEOUT_MS = 2000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Options of {@link NoDelayWebSocket}. */
export interface NoDelayWebSocketOptions {
  headers?: Record<string, string>;
}

/** A client WebSocket (ws:// or wss://) whose TCP socket has TCP_NODELAY set. */
export class NoDelayWebSocket extends EventTarget {
  #state: number = WebSocket.CONNECTING;
  #conn: Deno.Conn | null = null;
  #queue: Uint8Array[] = [];
  #writing = false;
  #closeSent = false;
  #closeCode = 1006;
  #closeReason = "";
  #closeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(url: string, options: NoDelayWebSocketOptions = {}) {
    super();
    this.#run(new URL(url), options.headers ?? {}).then(
      () => this.#finish(),
      () => this.#finish(),
    );
  }

  /** Typed like `WebSocket`'s listeners. */
  override addEventListener(type: "message", cb: (ev: MessageEvent) => void): void;
  override addEventListener(type: "close", cb: (ev: CloseEvent) => void): void;
  override addEventListener(type: "open" | "error", cb: (ev: Event) => void): void;
  override addEventListener(type: string, cb: (ev: never) => void): void {
    super.addEventListener(type, cb as EventListener);
  }

  /** CONNECTING, OPEN, CLOSING or CLOSED, as `WebSocket.readyState`. */
  get readyState(): number {
    return this.#state;
  }

  /** Queues a text (or binary) frame; dropped unless open, like a closing WebSocket. */
  send(data: string | Uint8Array): void {
    if (this.#state !== WebSocket.OPEN) return;
    if (typeof data === "string") this.#write(frame(0x1, encoder.encode(data)));
    else this.#write(frame(0x2, data));
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
    const reader = new Reader(conn);
    const head = await reader.readHead();
    const expected = await acceptKey(key);
    if (!/^HTTP\/1\.1 101 /.test(head) || !head.toLowerCase().includes(expected.toLowerCase())) {
      this.#closeCode = 1006;
      throw new Error("handshake refused");
    }
    if (this.#state !== WebSocket.CONNECTING) throw new Error("closed while connecting");
    this.#state = WebSocket.OPEN;
    this.dispatchEvent(new Event("open"));
    await this.#readFrames(reader);
  }

  async #readFrames(reader: Reader): Promise<void> {
    let parts: Uint8Array[] = [];
    let partsBytes = 0;
    let messageOpcode = 0;
    while (true) {
      const [b0, b1] = await reader.read(2);
      const fin = (b0 & 0x80) !== 0;
      const opcode = b0 & 0x0f;
      let length = b1 & 0x7f;
      if (length === 126) {
        const ext = await reader.read(2);
        length = (ext[0] << 8) | ext[1];
      } else if (length === 127) {
        const ext = await reader.read(8);
        length = new DataView(ext.buffer, ext.byteOffset, 8).getUint32(4);
      }
      if ((b1 & 0x80) !== 0 || length > MAX_MESSAGE_BYTES) throw new Error("bad frame");
      const payload = length > 0 ? await reader.read(length) : new Uint8Array(0);
      if (opcode === 0x8) {
        this.#closeCode = payload.length >= 2 ? (payload[0] << 8) | payload[1] : 1005;
        this.#closeReason = decoder.decode(payload.subarray(2));
        this.#sendClose(this.#closeCode, "");
        return;
      }
      if (opcode === 0x9) {
        this.#write(frame(0xa, payload));
        continue;
      }
      if (opcode === 0xa) continue;
      if (opcode !== 0) messageOpcode = opcode;
      parts.push(fin && parts.length === 0 ? payload : payload.slice());
      partsBytes += payload.length;
      if (partsBytes > MAX_MESSAGE_BYTES) throw new Error("message too large");
      if (!fin) continue;
      const whole = parts.length === 1 ? parts[0] : concat(parts, partsBytes);
      parts = [];
      partsBytes = 0;
      const data = messageOpcode === 0x1 ? decoder.decode(whole) : whole.slice().buffer;
      if (this.#state === WebSocket.OPEN) {
        this.dispatchEvent(new MessageEvent("message", { data }));
      }
    }
  }

  #sendClose(code: number, reason: string, thenClose = true): void {
    if (this.#closeSent) return;
    this.#closeSent = true;
    const body = new Uint8Array(2 + encoder.encode(reason).length);
    body[0] = code >> 8;
    body[1] = code & 0xff;
    body.set(encoder.encode(reason), 2);
    this.#write(frame(0x8, body), thenClose);
  }

  /** Writes frames in order; frames queued while a write is in flight go out in one write. */
  #write(bytes: Uint8Array, thenClose = false): void {
    this.#queue.push(bytes);
    if (thenClose) this.#queue.push(CLOSE_MARKER);
    if (!this.#writing) this.#pump();
  }

  async #pump(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0 && this.#conn) {
        const batch = this.#queue.splice(0);
        const closeAfter = batch.includes(CLOSE_MARKER);
        const frames = batch.filter((b) => b !== CLOSE_MARKER);
        await writeAll(this.#conn, frames.length === 1 ? frames[0] : concat(frames));
        if (closeAfter) {
          this.#conn?.close();
          this.#conn = null;
        }
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
    if (!this.#writing) {
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

const CLOSE_MARKER = new Uint8Array(0);

/** A client frame (FIN set, masked as RFC 6455 requires). */
function frame(opcode: number, payload: Uint8Array): Uint8Array {
  const n = payload.length;
  const header = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = new Uint8Array(header + 4 + n);
  out[0] = 0x80 | opcode;
  if (n < 126) out[1] = 0x80 | n;
  else if (n < 65536) {
    out[1] = 0x80 | 126;
    out[2] = n >> 8;
    out[3] = n & 0xff;
  } else {
    out[1] = 0x80 | 127;
    new DataView(out.buffer).setUint32(6, n);
  }
  const mask = (Math.random() * 0x100000000) >>> 0;
  new DataView(out.buffer).setUint32(header, mask);
  const m = [mask >>> 24, (mask >>> 16) & 0xff, (mask >>> 8) & 0xff, mask & 0xff];
  const body = header + 4;
  for (let i = 0; i < n; i++) out[body + i] = payload[i] ^ m[i & 3];
  return out;
}

function concat(parts: Uint8Array[], total = parts.reduce((n, p) => n + p.length, 0)): Uint8Array {
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

async function acceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", encoder.encode(key + GUID));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/** Buffered exact reads from a connection. */
class Reader {
  #buffer = new Uint8Array(8 * 1024);
  #start = 0;
  #end = 0;
  constructor(private readonly conn: Deno.Conn) {}

  async #fill(): Promise<void> {
    if (this.#start > 0 && this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#end === this.#buffer.length) {
      const grown = new Uint8Array(this.#buffer.length * 2);
      grown.set(this.#buffer.subarray(this.#start, this.#end));
      this.#end -= this.#start;
      this.#start = 0;
      this.#buffer = grown;
    }
    const n = await this.conn.read(this.#buffer.subarray(this.#end));
    if (n === null) throw new Error("connection closed");
    this.#end += n;
  }

  /** Exactly `n` bytes, as a view valid until the next read. */
  async read(n: number): Promise<Uint8Array> {
    if (this.#buffer.length - this.#start < n) {
      const grown = new Uint8Array(Math.max(n, this.#buffer.length) * 2);
      grown.set(this.#buffer.subarray(this.#start, this.#end));
      this.#end -= this.#start;
      this.#start = 0;
      this.#buffer = grown;
    }
    while (this.#end - this.#start < n) await this.#fill();
    const out = this.#buffer.subarray(this.#start, this.#start + n);
    this.#start += n;
    return out;
  }

  /** The HTTP response head (status line and headers). */
  async readHead(): Promise<string> {
    while (true) {
      const text = decoder.decode(this.#buffer.subarray(this.#start, this.#end));
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0) {
        this.#start += encoder.encode(text.slice(0, end + 4)).length;
        return text.slice(0, end);
      }
      if (this.#end - this.#start > 16384) throw new Error("response head too large");
      await this.#fill();
    }
  }
}
