/**
 * Start-up failures as one line a user can act on, instead of a stack trace: the port is taken,
 * the address is not this machine's, the permissions do not allow it, or (for anything else) what
 * failed, briefly.
 *
 * @module
 */

import { errorMessage } from "./log.ts";

/** Where the service tried to listen. */
export interface ListenAddress {
  hostname: string;
  port: number;
}

/** The one-line reason `Deno.serve` on `address` failed with `err`. */
export function listenProblem(err: unknown, address: ListenAddress): string {
  const where = `${address.hostname}:${address.port}`;
  if (err instanceof Deno.errors.AddrInUse) {
    return `PORT ${address.port} is already in use on ${address.hostname}: another process ` +
      `listens there (stop it, or set PORT to a free port)`;
  }
  if (err instanceof Deno.errors.AddrNotAvailable) {
    return `HOSTNAME ${address.hostname} is not an address of this machine: use 127.0.0.1 ` +
      `(this machine only) or 0.0.0.0 (every interface)`;
  }
  if (err instanceof Deno.errors.PermissionDenied) {
    return `cannot listen on ${where}: the system refused (ports below 1024 need privileges; ` +
      `set PORT to 1024 or above)`;
  }
  if (err instanceof Deno.errors.NotCapable) {
    return `cannot listen on ${where}: Deno's permissions do not allow it (run with ` +
      `deno.json's "service" permission set: -P=service)`;
  }
  return `cannot listen on ${where}: ${errorMessage(err)}`;
}

/** The one-line reason the service could not start, for a failure outside listening. */
export function startupProblem(err: unknown): string {
  return `Callbridge could not start: ${errorMessage(err)}`;
}
