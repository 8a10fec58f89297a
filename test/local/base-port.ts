import { createServer } from "node:net";
import type { Server } from "node:net";
import { PORT_SPAN } from "../../src/local/plan.js";

/** Random bases are tried in this range, clear of the well-known and ephemeral ports. */
const BASE_MIN = 20_000;
const BASE_MAX = 40_000;
const ATTEMPTS_MAX = 50;

/**
 * A base port where every port `kvraft local` may use (base..base+PORT_SPAN) is free
 * right now on 127.0.0.1: all are bound at once, then released for the command.
 */
export async function freeBasePort(): Promise<number> {
  for (let attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
    const base = BASE_MIN + Math.floor(Math.random() * (BASE_MAX - BASE_MIN - PORT_SPAN));
    if (await rangeFree(base, PORT_SPAN + 1)) return base;
  }
  throw new Error(`no free range of ${PORT_SPAN + 1} ports found in ${BASE_MIN}..${BASE_MAX} after ${ATTEMPTS_MAX} tries`);
}

async function rangeFree(base: number, count: number): Promise<boolean> {
  const held: Server[] = [];
  try {
    for (let port = base; port < base + count; port++) {
      const server = createServer();
      const bound = await new Promise<boolean>((resolve) => {
        server.once("error", () => resolve(false));
        server.listen({ port, host: "127.0.0.1", exclusive: true }, () => resolve(true));
      });
      if (!bound) return false;
      held.push(server);
    }
    return true;
  } finally {
    await Promise.all(held.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}
