/**
 * Structured logging: one JSON line per event, with the call's fields attached.
 *
 * Never pass secrets or audio here; phone numbers go through {@link maskPhone}, and any E.164
 * number inside a logged string (an upstream error that quotes one) is masked on the way out.
 *
 * @module
 */

import type { LogLevel } from "./config.ts";

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Where log lines go; tests swap it to capture them. */
export type LogSink = (line: string, level: LogLevel) => void;

function consoleSink(line: string, level: LogLevel): void {
  if (level === "error" || level === "warn") console.error(line);
  else console.log(line);
}

/** A logger bound to a minimum level and a set of fields (e.g. `callSid`). */
export class Logger {
  constructor(
    readonly level: LogLevel = "info",
    readonly fields: Record<string, unknown> = {},
    readonly sink: LogSink = consoleSink,
  ) {}

  /** A logger that adds `fields` to every line. */
  child(fields: Record<string, unknown>): Logger {
    return new Logger(this.level, { ...this.fields, ...fields }, this.sink);
  }

  debug(event: string, data?: Record<string, unknown>): void {
    this.#write("debug", event, data);
  }
  info(event: string, data?: Record<string, unknown>): void {
    this.#write("info", event, data);
  }
  warn(event: string, data?: Record<string, unknown>): void {
    this.#write("warn", event, data);
  }
  error(event: string, data?: Record<string, unknown>): void {
    this.#write("error", event, data);
  }

  #write(level: LogLevel, event: string, data?: Record<string, unknown>): void {
    if (RANK[level] < RANK[this.level]) return;
    const line = JSON.stringify({
      time: new Date().toISOString(),
      level,
      event,
      ...this.fields,
      ...data,
    }, maskStrings);
    this.sink(line, level);
  }
}

/** An E.164 number standing on its own in a text (not part of an id or a longer number). */
const E164_IN_TEXT = /(?<![\w+])\+[1-9]\d{6,14}(?!\d)/g;

/** `text` with every E.164 number in it masked as {@link maskPhone} does. */
export function maskNumbersIn(text: string): string {
  return text.includes("+") ? text.replace(E164_IN_TEXT, (n) => maskPhone(n)) : text;
}

function maskStrings(_key: string, value: unknown): unknown {
  return typeof value === "string" ? maskNumbersIn(value) : value;
}

/** Keeps only the last four digits of a phone number for logs and lists. */
export function maskPhone(number: string | undefined | null): string {
  if (!number) return "";
  const digits = number.replace(/\D/g, "");
  if (digits.length <= 4) return "****";
  return `${number.startsWith("+") ? "+" : ""}${"*".repeat(digits.length - 4)}${digits.slice(-4)}`;
}

/** A short, stack-free description of an error, safe to log. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
