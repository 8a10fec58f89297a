import { createServer } from "node:net";
import type { PlannedPort } from "./plan.js";

/** A port the local cluster needs is in use; the message names it and its role. */
export class PortTakenError extends Error {
  override readonly name = "PortTakenError";
  constructor(readonly port: number, readonly role: string, readonly host: string, override readonly cause: Error) {
    super(`port ${port} (${role}) on ${host} is in use (${(cause as NodeJS.ErrnoException).code ?? cause.message}): ` +
      "another `kvraft local` may still be running (see its cluster.json), or pick another range with --base-port");
  }
}

/**
 * Checks every port by binding it for a moment, before any child is started: a child
 * that fails to bind would only say so in its own log, after the others started.
 * The check and the child's bind are not atomic; losing that race shows up as a member
 * that crashes and is restarted, with its log naming the port.
 */
export async function assertPortsFree(host: string, ports: readonly PlannedPort[]): Promise<void> {
  for (const planned of ports) {
    const error = await tryBind(host, planned.port);
    if (error !== undefined) throw new PortTakenError(planned.port, planned.role, host, error);
  }
}

function tryBind(host: string, port: number): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (error) => resolve(error));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}
