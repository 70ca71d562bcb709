/**
 * The agent profiles this process serves, by name.
 */

import type { AgentProfile } from "./agent_profile.ts";

/** Looks profiles up by name; unknown names fall back to `default` where asked. */
export class ProfileStore {
  constructor(readonly profiles: ReadonlyMap<string, AgentProfile>) {}

  get(name: string): AgentProfile | null {
    return this.profiles.get(name) ?? null;
  }

  has(name: string): boolean {
    return this.profiles.has(name);
  }

  names(): string[] {
    return [...this.profiles.keys()];
  }

  /** The named profile, or `default` when the name is empty or unknown. */
  resolve(name: string | undefined | null): AgentProfile {
    return (name ? this.profiles.get(name) : undefined) ?? this.profiles.get("default")!;
  }
}
