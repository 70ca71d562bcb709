/**
 * What both call paths keep of a call in the same shape: its transcript lines, its tool calls,
 * and the socket Twilio holds it on.
 *
 * @module
 */

import type { ToolResult } from "../agents/tools.ts";

/** A transcript line as the caller experienced it. */
export interface TranscriptEntry {
  role: "caller" | "agent";
  text: string;
  /** Epoch ms when the turn began. */
  at: number;
  /** Agent: the caller cut in (on the realtime path after `heardMs` of `audioMs`). */
  interrupted?: boolean;
  heardMs?: number;
  audioMs?: number;
  /** Realtime: the conversation item it belongs to. */
  itemId?: string;
}

/** One tool call and its result, for call records. */
export interface ToolEvent extends ToolResult {
  at: number;
  arguments: string;
}

/** The server side of a Twilio WebSocket, as a call session uses it. */
export interface CallSocket {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "message", cb: (ev: MessageEvent) => void): void;
  addEventListener(type: "open" | "close" | "error", cb: (ev: Event) => void): void;
}
