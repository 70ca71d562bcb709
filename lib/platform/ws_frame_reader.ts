/**
 * Buffered reads of a client WebSocket connection: the HTTP response head, then whole server
 * frames cut from one growing buffer without a promise (or a copy) per frame.
 *
 * @module
 */

/** Largest message (and frame) accepted from the server. */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** A buffer grown past this is dropped once drained, so one large message does not stay. */
export const MAX_KEPT_BUFFER_BYTES = 64 * 1024;
/** Initial size of the read buffer; it grows for a larger frame and shrinks back once empty. */
const READ_BUFFER_BYTES = 4096;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A server frame cut from the read buffer; `payload` is valid until the next read. */
export interface ServerFrame {
  fin: boolean;
  opcode: number;
  payload: Uint8Array;
}

/** Buffered reads from a connection: the HTTP response head, then whole frames. */
export class WsFrameReader {
  #buffer = new Uint8Array(READ_BUFFER_BYTES);
  #start = 0;
  #end = 0;
  constructor(private readonly conn: Deno.Conn) {}

  /** Reads more bytes from the connection (at least one); throws once it is closed. */
  async fill(): Promise<void> {
    if (this.#start === this.#end) {
      this.#start = this.#end = 0;
      if (this.#buffer.length > MAX_KEPT_BUFFER_BYTES) {
        this.#buffer = new Uint8Array(READ_BUFFER_BYTES);
      }
    }
    if (this.#end === this.#buffer.length) this.#reserve(this.#end - this.#start + 1);
    const n = await this.conn.read(this.#buffer.subarray(this.#end));
    if (n === null) throw new Error("connection closed");
    this.#end += n;
  }

  /** Room for `bytes` from the current start, compacting (and growing) the buffer if needed. */
  #reserve(bytes: number): void {
    if (this.#buffer.length - this.#start >= bytes) return;
    const target = bytes > this.#buffer.length
      ? new Uint8Array(Math.max(bytes, this.#buffer.length * 2))
      : this.#buffer;
    target.set(this.#buffer.subarray(this.#start, this.#end));
    this.#end -= this.#start;
    this.#start = 0;
    this.#buffer = target;
  }

  /** The next whole frame if it is buffered, else null (after making room for it). */
  nextFrame(): ServerFrame | null {
    const buffer = this.#buffer;
    const start = this.#start;
    const available = this.#end - start;
    if (available < 2) return null;
    const b0 = buffer[start];
    const b1 = buffer[start + 1];
    if ((b1 & 0x80) !== 0) throw new Error("masked frame from the server");
    let length = b1 & 0x7f;
    let header = 2;
    if (length === 126) {
      if (available < 4) return null;
      length = (buffer[start + 2] << 8) | buffer[start + 3];
      header = 4;
    } else if (length === 127) {
      if (available < 10) return null;
      const view = new DataView(buffer.buffer, buffer.byteOffset + start + 2, 8);
      if (view.getUint32(0) !== 0) throw new Error("frame too large");
      length = view.getUint32(4);
      header = 10;
    }
    if (length > MAX_MESSAGE_BYTES) throw new Error("frame too large");
    if (available < header + length) {
      this.#reserve(header + length);
      return null;
    }
    this.#start = start + header + length;
    return {
      fin: (b0 & 0x80) !== 0,
      opcode: b0 & 0x0f,
      payload: buffer.subarray(start + header, start + header + length),
    };
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
      await this.fill();
    }
  }
}
