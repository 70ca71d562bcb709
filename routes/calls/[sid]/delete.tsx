/**
 * `POST /calls/:sid/delete`: deletes a call for a privacy request, in two steps — the call
 * page's button asks for a confirmation page, whose button (with `confirm=yes`) deletes the
 * records, turns, analysis and Twilio recording. The admin guard checks each form's origin.
 *
 * @module
 */

import type { Handler } from "hono";
import { Layout } from "../../../components/layout.tsx";
import { renderPage } from "../../../components/render.ts";
import { deleteCallLogged } from "../../../lib/records/call_deletion.ts";
import type { Services } from "../../../lib/services.ts";

/** The confirmation page, or the deletion and a page saying it is done. */
export function callDeleteHandler(services: Services): Handler {
  return async (c) => {
    const key = (c.req.param("sid") ?? "").slice(0, 64);
    const store = services.records.store;
    const body = await c.req.parseBody();
    const records = await store.findByKey(key);
    if (records.length === 0) {
      return renderPage(
        c,
        <Layout title="Call not found" active="/">
          <h1>Call not found</h1>
          <p>
            No record of <code>{key}</code>: it may have been deleted, or have expired.
          </p>
        </Layout>,
        404,
      );
    }
    if (body.confirm !== "yes") {
      return renderPage(
        c,
        <Layout title="Delete this call?" active="/">
          <h1>Delete this call?</h1>
          <p>
            {`This deletes ${records.length} record${records.length === 1 ? "" : "s"} of `}
            <code>{key}</code>
            : the transcript, events, analysis, webhook state and the Twilio recording. It cannot be
            undone.
          </p>
          <form method="post" action={`/calls/${encodeURIComponent(key)}/delete`}>
            <input type="hidden" name="confirm" value="yes" />
            <button type="submit" class="danger confirm-delete">Delete for good</button>{" "}
            <a href={`/calls/${encodeURIComponent(key)}`}>Keep it</a>
          </form>
        </Layout>,
      );
    }
    await deleteCallLogged(store, key, {
      log: services.log,
      via: "admin",
      deleteRecording: services.twilio?.deleteRecording ?? null,
    });
    return renderPage(
      c,
      <Layout title="Call deleted" active="/">
        <h1>Call deleted</h1>
        <p class="notice">
          Every record of <code>{key}</code> was deleted. <a href="/">Back to the calls</a>
        </p>
      </Layout>,
    );
  };
}
