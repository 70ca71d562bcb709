/**
 * The tools built into Callbridge. Each works on both call paths through {@link CallControls}.
 *
 * @module
 */

import { type BuiltinToolName, DEFAULT_SMS, type SmsSettings } from "./agent_profile.ts";
import { isValidDigits } from "../protocols/conversation_relay.ts";
import { type Tool, ToolError } from "./tools.ts";

const E164 = "^\\+[1-9]\\d{6,14}$";

/** `end_call`: the goodbye is heard in full, then the call ends. */
const endCall: Tool = {
  name: "end_call",
  description:
    "End the phone call. First say a short goodbye in the same response; the call ends once it has been heard.",
  parameters: {
    type: "object",
    properties: { reason: { type: "string", description: "Why the call ends, in a few words" } },
    additionalProperties: false,
  },
  run(args, ctx) {
    ctx.controls.endCall(typeof args.reason === "string" ? args.reason : "");
    return Promise.resolve({ ok: true, note: "The call ends after your goodbye." });
  },
};

/** `transfer_to_human`: hands the caller to a person. */
const transferToHuman: Tool = {
  name: "transfer_to_human",
  description:
    "Transfer the caller to a human. Tell the caller you are connecting them first. Use when they ask for a person or you cannot help.",
  parameters: {
    type: "object",
    properties: {
      summary: { type: "string", description: "One or two sentences for the person taking over" },
    },
    required: ["summary"],
    additionalProperties: false,
  },
  async run(args, ctx) {
    const number = ctx.profile.handoffNumber ?? ctx.handoffNumber;
    if (!number) {
      throw new ToolError("Nobody is available to take the call; offer to help or take a message.");
    }
    await ctx.controls.transferToHuman({ number, summary: String(args.summary) });
    return { ok: true, note: "The caller is transferred after your last sentence." };
  },
};

/** `send_dtmf`: plays key tones into the call. */
const sendDtmf: Tool = {
  name: "send_dtmf",
  description:
    "Press phone keys (DTMF), e.g. to navigate another phone menu. Digits 0-9, * and #; w waits half a second.",
  parameters: {
    type: "object",
    properties: { digits: { type: "string", pattern: "^[0-9w#*]{1,32}$" } },
    required: ["digits"],
    additionalProperties: false,
  },
  async run(args, ctx) {
    const digits = String(args.digits);
    if (!isValidDigits(digits)) throw new ToolError("digits may only contain 0-9, w, # and *");
    await ctx.controls.sendDigits(digits);
    return { ok: true, sent: digits };
  },
};

/**
 * `send_sms` for an agent: texts the caller, or one of the numbers the profile allows (`to` is
 * offered only then, as an enum); at most `maxPerCall` texts of `maxLength` characters. A model
 * talked into texting anyone else (SMS pumping) gets a refusal, never a text.
 */
export function sendSmsTool(settings: SmsSettings): Tool {
  const properties: Record<string, unknown> = {
    body: { type: "string", minLength: 1, maxLength: settings.maxLength },
  };
  if (settings.allowTo.length) {
    properties.to = {
      type: "string",
      enum: settings.allowTo,
      description: "One of these numbers; default: the caller",
    };
  }
  return {
    name: "send_sms",
    description: settings.allowTo.length
      ? "Send a text message to the caller, or to one of the allowed numbers."
      : "Send a text message to the caller.",
    parameters: { type: "object", properties, required: ["body"], additionalProperties: false },
    async run(args, ctx) {
      if (!ctx.sms) throw new ToolError("Text messages are not available on this line.");
      const caller = ctx.call.direction.startsWith("outbound") ? ctx.call.to : ctx.call.from;
      const to = typeof args.to === "string" ? args.to : caller;
      if (to !== caller && !settings.allowTo.includes(to)) {
        throw new ToolError("This line texts only the caller.");
      }
      if (!new RegExp(E164).test(to)) {
        throw new ToolError("The caller's number cannot receive texts.");
      }
      if (ctx.sms.sent >= settings.maxPerCall) {
        throw new ToolError(`At most ${settings.maxPerCall} texts can be sent on one call.`);
      }
      const { sid } = await ctx.sms.send({ to, body: String(args.body) });
      return { ok: true, sid };
    },
  };
}

/** `switch_language`: changes the language of recognition and speech. */
const switchLanguage: Tool = {
  name: "switch_language",
  description:
    "Switch the conversation to another language, e.g. es-ES. Then continue in that language.",
  parameters: {
    type: "object",
    properties: { language: { type: "string", pattern: "^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$" } },
    required: ["language"],
    additionalProperties: false,
  },
  async run(args, ctx) {
    const language = String(args.language);
    const allowed = [ctx.profile.language, ...ctx.profile.languages.map((l) => l.code)]
      .filter((l): l is string => !!l);
    if (
      ctx.call.mode === "relay" && ctx.profile.languages.length > 0 && !allowed.includes(language)
    ) {
      throw new ToolError(`This line supports ${allowed.join(", ")}.`);
    }
    await ctx.controls.switchLanguage(language);
    return { ok: true, language };
  },
};

/** Every built-in tool by name (`send_sms` with the default limits; see {@link sendSmsTool}). */
export const BUILTINS: Record<BuiltinToolName, Tool> = {
  end_call: endCall,
  transfer_to_human: transferToHuman,
  send_dtmf: sendDtmf,
  send_sms: sendSmsTool(DEFAULT_SMS),
  switch_language: switchLanguage,
};
