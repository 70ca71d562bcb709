/** `POST /twilio/voice/realtime`: the voice webhook for the speech-to-speech (Media Streams) path. */

import type { Handler } from "hono";
import { publicBaseUrl, toWebSocketUrl } from "../../lib/public_url.ts";
import { NOT_CONFIGURED } from "../../lib/relay_session.ts";
import type { Services } from "../../lib/services.ts";
import { sayAndHangUpTwiml, streamTwiml } from "../../lib/twiml.ts";

/** Returns `<Connect><Stream>` TwiML (or an apology when no OpenAI key is configured). */
export function realtimeVoiceHandler(services: Services): Handler {
  const { config } = services;
  return (c) => {
    const agent = c.req.query("agent") || "default";
    const twiml = config.openai.apiKey
      ? streamTwiml({
        socketUrl: `${toWebSocketUrl(publicBaseUrl(config.publicUrl, c.req.raw))}/twilio/stream`,
        parameters: { agent },
        intro: config.realtimeIntro,
        fallback: config.realtimeFallback,
      })
      : sayAndHangUpTwiml(NOT_CONFIGURED);
    return c.body(twiml, 200, { "content-type": "text/xml; charset=utf-8" });
  };
}
