/**
 * `POST /openai/webhook`: OpenAI's project webhook (SIP calls). Public: each delivery is
 * verified by its Standard Webhooks signature (`lib/sip/sip_webhook.ts`), over the raw body.
 *
 * @module
 */

import type { Handler } from "hono";
import type { Services } from "../../lib/services.ts";

/** Verifies the delivery and answers at once; an incoming call is dealt with after. */
export function openAiWebhookHandler(services: Services): Handler {
  return async (c) => {
    const answer = await services.sipWebhook.handle(await c.req.text(), c.req.raw.headers);
    return c.text(answer.body, answer.status as 200);
  };
}
