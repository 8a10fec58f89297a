import * as net from "node:net";
import { waitFor } from "./wait.js";

/** Sockets opened at once: more would overflow the listen backlog and wait on SYN retries. */
const FLOOD_BATCH = 100;

export interface RawFloodOptions {
  readonly port: number;
  /** Sockets to open. */
  readonly count: number;
  /** The flood's source address (127.0.0.2: loopback, and not the good clients' 127.0.0.1). */
  readonly localAddress: string;
  /**
   * Reopen a socket the server closed after holding it this long (a handshake timeout
   * freed its slot): the flood keeps up. Sockets refused at once are not reopened, so a
   * member that refuses promptly sees no churn. Undefined: never reopen.
   */
  readonly refillAfterHeldMs?: number;
}

/**
 * TCP connections that never say anything (no TLS ClientHello, no HELLO): what an
 * attacker holds a port with. Counts the sockets the server closed; stop() closes the rest.
 */
export class RawFlood {
  private readonly sockets = new Set<net.Socket>();
  private stopped = false;
  /** Sockets the server closed (a refusal or a timeout). */
  closedByServer = 0;

  private constructor(private readonly options: RawFloodOptions) {}

  /** Opens `count` sockets, in batches, and resolves once each one connected or failed. */
  static async start(options: RawFloodOptions): Promise<RawFlood> {
    const flood = new RawFlood(options);
    for (let opened = 0; opened < options.count; opened += FLOOD_BATCH) {
      const batch = Math.min(FLOOD_BATCH, options.count - opened);
      await Promise.all(Array.from({ length: batch }, () => flood.openOne()));
    }
    return flood;
  }

  get openCount(): number {
    return this.sockets.size;
  }

  /** Waits until the server has closed at least `count` of the flood's sockets. */
  async closedAtLeast(count: number, timeoutMs: number): Promise<void> {
    await waitFor(`the server to close ${count} flood sockets (closed ${this.closedByServer})`, () => (this.closedByServer >= count ? true : undefined), timeoutMs);
  }

  stop(): void {
    this.stopped = true;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  private openOne(): Promise<void> {
    const { port, localAddress, refillAfterHeldMs } = this.options;
    return new Promise((resolve) => {
      const socket = net.connect({ host: "127.0.0.1", port, localAddress });
      // From the connect: a SYN retried in a full backlog is no time held.
      let connectedAtMs = Number.POSITIVE_INFINITY;
      this.sockets.add(socket);
      socket.once("connect", () => {
        connectedAtMs = Date.now();
        resolve();
      });
      socket.on("data", () => undefined);
      socket.on("error", () => undefined);
      socket.once("close", () => {
        resolve();
        if (this.stopped) return;
        this.sockets.delete(socket);
        this.closedByServer++;
        if (refillAfterHeldMs !== undefined && Date.now() - connectedAtMs >= refillAfterHeldMs) void this.openOne();
      });
    });
  }
}
