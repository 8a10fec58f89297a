import type * as net from "node:net";
import type { QueuedFrame } from "./send-queue.js";

/**
 * Small socket helpers shared by both directions of a peer connection.
 */

/**
 * Idle time before TCP keepalive probes start. Raft traffic is rarely idle (heartbeats),
 * but an inbound connection from a peer that vanished (power loss, network cut) sends no
 * FIN: keepalive is what lets this side notice and free it.
 */
export const KEEPALIVE_DELAY_MS = 10_000;

/** One buffer for one socket write; a single frame is passed as it is, without a copy. */
export function concatFrames(frames: readonly QueuedFrame[]): Uint8Array {
  if (frames.length === 1) return (frames[0] as QueuedFrame).bytes;
  return Buffer.concat(frames.map((frame) => frame.bytes));
}

export function remoteAddressOf(socket: net.Socket): string {
  const host = socket.remoteAddress ?? "unknown";
  return host.includes(":") ? `[${host}]:${socket.remotePort ?? 0}` : `${host}:${socket.remotePort ?? 0}`;
}

/**
 * Every socket a transport has opened or accepted and not yet seen closed, so that
 * `stop()` can destroy them all and resolve only once each has really closed.
 */
export class SocketTracker {
  private readonly open = new Set<net.Socket>();

  track(socket: net.Socket): void {
    this.open.add(socket);
    socket.once("close", () => this.open.delete(socket));
  }

  get size(): number {
    return this.open.size;
  }

  /** Destroys every tracked socket; resolves when all have emitted 'close'. */
  async destroyAll(): Promise<void> {
    const closing = [...this.open].map((socket) => new Promise<void>((resolve) => {
      socket.once("close", () => resolve());
      socket.destroy();
    }));
    await Promise.all(closing);
  }
}
