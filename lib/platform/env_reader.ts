/**
 * The reader behind `loadConfig`: typed getters over an env-style record that collect every
 * problem (naming the variable and what is wrong) instead of throwing at the first, so one
 * start-up shows them all. Credential-like values are never echoed in a problem.
 *
 * @module
 */

import { isIP } from "node:net";

/** Collects problems instead of throwing at the first, so one start-up shows them all. */
export class EnvReader {
  readonly problems: string[] = [];
  constructor(private readonly env: Record<string, string | undefined>) {}

  #raw(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === "" ? undefined : value;
  }

  string(name: string, fallback: string, opts: { allowEmpty?: boolean } = {}): string {
    const value = this.env[name];
    if (value === undefined) return fallback;
    if (value.trim() === "" && !opts.allowEmpty) return fallback;
    return value.trim();
  }

  /**
   * An address to listen on: an IP literal or `localhost`. A name is refused rather than
   * resolved: shells and container runtimes set `HOSTNAME` to the machine's name, and a name
   * that does not resolve was silently bound to 127.0.0.1.
   */
  listenAddress(name: string, fallback: string): string {
    const value = this.#raw(name);
    if (value === undefined) return fallback;
    const bare = value.startsWith("[") && value.endsWith("]") ? value.slice(1, -1) : value;
    if (value === "localhost" || isIP(bare) !== 0) return bare;
    this.problems.push(
      `${name} must be an IP address to listen on, such as 127.0.0.1 (this machine only) or ` +
        `0.0.0.0 (every interface) (got "${value}"; a shell or container may set ${name} to ` +
        `the machine's name: set it explicitly)`,
    );
    return fallback;
  }

  optional(name: string, pattern?: RegExp, expected?: string): string | null {
    const value = this.#raw(name);
    if (value === undefined) return null;
    if (pattern && !pattern.test(value)) {
      this.problems.push(`${name} must be ${expected} (got ${describe(name, value)})`);
      return null;
    }
    return value;
  }

  int(name: string, fallback: number, range: { min: number; max: number }): number {
    const value = this.#raw(name);
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!/^-?\d+$/.test(value) || n < range.min || n > range.max) {
      this.problems.push(
        `${name} must be a whole number from ${range.min} to ${range.max} (got "${value}")`,
      );
      return fallback;
    }
    return n;
  }

  number(name: string, fallback: number, range: { min: number; max: number }): number {
    const value = this.#raw(name);
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n < range.min || n > range.max) {
      this.problems.push(
        `${name} must be a number from ${range.min} to ${range.max} (got "${value}")`,
      );
      return fallback;
    }
    return n;
  }

  bool(name: string, fallback: boolean): boolean {
    const value = this.#raw(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (["true", "1", "yes", "on"].includes(value)) return true;
    if (["false", "0", "no", "off"].includes(value)) return false;
    this.problems.push(`${name} must be true or false (got "${value}")`);
    return fallback;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    return this.optionalOneOf(name, allowed) ?? fallback;
  }

  optionalOneOf<T extends string>(name: string, allowed: readonly T[]): T | null {
    const value = this.#raw(name);
    if (value === undefined) return null;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    this.problems.push(`${name} must be one of ${allowed.join(", ")} (got "${value}")`);
    return null;
  }

  /** A comma-separated list of E.164 prefixes like `+1,+44`. */
  prefixes(name: string, fallback: string[]): string[] {
    const value = this.env[name];
    if (value === undefined) return fallback;
    const list = value.split(",").map((p) => p.trim()).filter(Boolean);
    const bad = list.find((p) => !/^\+\d{1,7}$/.test(p));
    if (bad) {
      this.problems.push(
        `${name} must be a comma-separated list of prefixes like +1,+44 (got "${bad}")`,
      );
      return fallback;
    }
    return list;
  }

  url(name: string, fallback: string, protocols: string[]): string {
    const value = this.#raw(name);
    if (value === undefined) return fallback;
    const parsed = URL.parse(value);
    if (!parsed || !protocols.includes(parsed.protocol)) {
      this.problems.push(
        `${name} must be a URL starting with ${
          protocols.map((p) => `${p}//`).join(" or ")
        } (got "${value}")`,
      );
      return fallback;
    }
    return value.replace(/\/+$/, "");
  }

  /** https base URL; plain http is accepted only for loopback hosts (local tests). */
  publicUrl(name: string): string | null {
    const value = this.#raw(name);
    if (value === undefined) return null;
    const parsed = URL.parse(value);
    const loopback = parsed !== null &&
      ["127.0.0.1", "localhost", "[::1]"].includes(parsed.hostname);
    if (!parsed || !(parsed.protocol === "https:" || (parsed.protocol === "http:" && loopback))) {
      this.problems.push(
        `${name} must be the https:// base URL Twilio reaches, e.g. https://abc.ngrok.app (got "${value}")`,
      );
      return null;
    }
    if (parsed.search || parsed.hash) {
      this.problems.push(`${name} must not have a query string or fragment (got "${value}")`);
      return null;
    }
    return `${parsed.origin}${parsed.pathname}`.replace(/\/+$/, "");
  }
}

function describe(name: string, value: string): string {
  // A credential pasted into the wrong variable must not reach the log: only its length does.
  if (/KEY|TOKEN|SECRET|PASSWORD|SID/.test(name)) return `a value of ${value.length} characters`;
  return `"${value}"`;
}
