/**
 * A simulated call's status line, shared by both simulator islands (a module, not an island:
 * only `islands/*.tsx` are bundled as islands): the state, and once the call has a SID, a link to
 * its record.
 *
 * @module
 */

import { type ComponentChild, h } from "preact";

/** `status`, then ` · <CA…>` linking to the call's page once there is one. */
export function CallStatus(props: { status: string; callSid: string | null }): ComponentChild {
  const { status, callSid } = props;
  const link = callSid ? [" · ", h("a", { href: `/calls/${callSid}` }, callSid)] : [];
  return h("span", { class: "status" }, status, ...link);
}
