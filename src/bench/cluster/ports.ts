import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";

/**
 * The lowest port handed to the processes we start: below it lie the well-known and
 * commonly configured ports.
 */
const PICKED_PORT_MIN = 10_000;
/** Random tries per port before falling back to one the kernel picks. */
const PICK_TRIES_MAX = 50;
/** The start of Linux's default ephemeral range, when /proc cannot say. */
const EPHEMERAL_LOW_DEFAULT = 32768;

/**
 * Ports free on 127.0.0.1 right now for processes about to bind them: all held open at
 * once so that no two are the same, then released. They are drawn at random below the
 * kernel's ephemeral range: a port the kernel picked (listen on 0) is from that range,
 * and between its release and the member's bind any outgoing connection on the machine
 * (thousands in a test run) could be given it as its local port, which made a member's
 * bind fail now and then with EADDRINUSE. Outside the range only another picker can take
 * it, and random draws make that unlikely. Falls back to the kernel's pick when the range
 * leaves no room below it.
 */
export async function freeLoopbackPorts(count: number): Promise<number[]> {
  const ephemeralLow = await ephemeralRangeStart();
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) servers.push(await holdPort(ephemeralLow));
    return servers.map((server) => (server.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

async function holdPort(ephemeralLow: number): Promise<Server> {
  const room = ephemeralLow - PICKED_PORT_MIN;
  for (let tries = 0; room > 0 && tries < PICK_TRIES_MAX; tries++) {
    const server = await listen(PICKED_PORT_MIN + Math.floor(Math.random() * room)).catch(() => undefined);
    if (server !== undefined) return server;
  }
  return listen(0);
}

function listen(port: number): Promise<Server> {
  const server = createServer();
  return new Promise<Server>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

/** The first port of the kernel's ephemeral range (Linux /proc; the default elsewhere). */
async function ephemeralRangeStart(): Promise<number> {
  const text = await readFile("/proc/sys/net/ipv4/ip_local_port_range", "utf8").catch(() => "");
  const low = Number(text.trim().split(/\s+/)[0]);
  return Number.isInteger(low) && low > 0 ? low : EPHEMERAL_LOW_DEFAULT;
}
