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

/**
 * Frames up to this size are joined into one buffer before a write; a larger one is
 * written as it is: copying it would cost more than the extra buffer in the writev.
 */
export const FRAME_JOIN_BYTES_MAX = 16 * 1024;

/**
 * The buffers for one batch of frames, in order: each run of small frames joined (one
 * copy of small bytes), each large frame as it is (no copy). A batch of one frame is
 * that frame.
 */
export function batchBuffers(frames: readonly QueuedFrame[]): Uint8Array[] {
  if (frames.length === 1) return [(frames[0] as QueuedFrame).bytes];
  const buffers: Uint8Array[] = [];
  let run: Uint8Array[] = [];
  const endRun = (): void => {
    if (run.length > 0) buffers.push(run.length === 1 ? (run[0] as Uint8Array) : Buffer.concat(run));
    run = [];
  };
  for (const frame of frames) {
    if (frame.bytes.length <= FRAME_JOIN_BYTES_MAX) {
      run.push(frame.bytes);
    } else {
      endRun();
      buffers.push(frame.bytes);
    }
  }
  endRun();
  return buffers;
}

/**
 * Writes `buffers` as one batch: corked, so that the socket hands them to the kernel
 * together (one writev). Returns what `write` returns for the batch as a whole: false
 * when the socket now buffers more than its high-water mark, and the caller should
 * wait for 'drain'.
 */
export function writeBatch(socket: net.Socket, buffers: readonly Uint8Array[]): boolean {
  if (buffers.length === 1) return socket.write(buffers[0] as Uint8Array);
  socket.cork();
  let belowHighWaterMark = true;
  for (const buffer of buffers) belowHighWaterMark = socket.write(buffer) && belowHighWaterMark;
  socket.uncork();
  return belowHighWaterMark;
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
