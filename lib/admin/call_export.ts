/**
 * Calls as CSV (RFC 4180), the dashboard's filtered list exported: one row a call, the numbers
 * masked as in the list, and any cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`
 * first) prefixed with `'`.
 *
 * @module
 */

import { maskPhone } from "../platform/log.ts";
import { type CallRecord, resultOf } from "../records/call_store.ts";

/** The CSV's columns, in order. */
export const CSV_COLUMNS = [
  "id",
  "call_sid",
  "started_at",
  "ended_at",
  "duration_s",
  "agent",
  "mode",
  "direction",
  "from",
  "to",
  "outcome",
  "result",
  "summary",
  "turns",
  "interruptions",
  "tool_calls",
  "input_tokens",
  "output_tokens",
  "cost_usd",
] as const;

/** The header line, with its CRLF. */
export function csvHeader(): string {
  return `${CSV_COLUMNS.join(",")}\r\n`;
}

/** One call as a CSV line, with its CRLF. */
export function csvRow(record: CallRecord): string {
  const analysis = record.analysis?.status === "done" ? record.analysis : null;
  const cells: (string | number | null)[] = [
    record.id,
    record.callSid,
    iso(record.startedAt),
    iso(record.endedAt),
    record.endedAt === null ? null : Math.round((record.endedAt - record.startedAt) / 1000),
    record.agent,
    record.mode,
    record.direction,
    maskPhone(record.from),
    maskPhone(record.to),
    record.outcome,
    resultOf(record),
    analysis?.summary ?? null,
    record.turns,
    record.interruptions,
    record.toolCalls,
    record.inputTokens,
    record.outputTokens,
    record.costUsd,
  ];
  return `${cells.map(cell).join(",")}\r\n`;
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** A cell: quoted when it holds a comma, quote or line break; a formula defused. */
export function cell(value: string | number | null): string {
  if (value === null) return "";
  if (typeof value === "number") return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
