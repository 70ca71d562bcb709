/**
 * The "New agent" form of `/agents`: a name and what the agent starts from, one of the templates
 * or a copy of an existing agent's running files; the problems of a refused attempt above it.
 *
 * @module
 */

import { AGENT_TEMPLATES } from "../lib/agents/agent_templates.ts";

/** Props of {@link NewAgentForm}. */
export interface NewAgentFormProps {
  /** The agents that can be copied. */
  agents: string[];
  problems: string[];
  /** The values sent last (shown again when refused). */
  name: string;
  start: string;
}

/** The form (POST /agents). */
export function NewAgentForm(props: NewAgentFormProps) {
  return (
    <section data-section="new-agent">
      <h2>New agent</h2>
      {props.problems.map((p) => <p key={p} class="problem" data-field="new-agent">{p}</p>)}
      <form method="post" action="/agents" class="card">
        <div class="grid2">
          <div class="field">
            <label for="new-name">Name</label>
            <input
              id="new-name"
              name="name"
              value={props.name}
              required
              pattern="[a-z0-9][a-z0-9_\-]{0,62}"
            />
            <p class="hint">Lower-case letters, digits, - and _: it is the agent's URL name.</p>
          </div>
          <div class="field">
            <label for="new-start">Start from</label>
            <select id="new-start" name="start">
              {AGENT_TEMPLATES.map((t) => (
                <option
                  key={t.id}
                  value={`template:${t.id}`}
                  selected={props.start === `template:${t.id}`}
                >
                  {`Template: ${t.label}`}
                </option>
              ))}
              {props.agents.map((a) => (
                <option key={a} value={`copy:${a}`} selected={props.start === `copy:${a}`}>
                  {`Copy of ${a}`}
                </option>
              ))}
            </select>
          </div>
        </div>
        <button type="submit">Create agent</button>
        <p class="hint">
          Saved in KV: every instance answers with it from its next call. Created agents can be
          deleted; the shipped ones can only follow their files again.
        </p>
      </form>
    </section>
  );
}
