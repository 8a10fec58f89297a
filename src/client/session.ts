import type { SessionRef } from "../kv/index.js";
import { ClientClosedError, TimeoutError } from "./errors.js";
import type { ClientRuntime } from "./runtime.js";

/**
 * One exactly-once session (Raft thesis §6.3): the id the cluster gave it, and the
 * numbering of this client's writes within it. Every write takes the next seq and keeps
 * it across retries; `lowestUnackedSeq` tells the cluster which cached replies it may
 * drop. At most `windowMax` seqs are open at once (from the lowest unanswered to the
 * newest), which keeps the replies the cluster caches for this session under its
 * sessionRepliesMax.
 */
export class WriteSession {
  private nextSeq = 1;
  /** Seqs handed out whose writes have not finished (answered or given up). */
  private readonly open = new Set<number>();
  private waiters: (() => void)[] = [];
  private closed = false;

  constructor(
    readonly sessionId: number,
    private readonly windowMax: number,
    private readonly runtime: ClientRuntime,
  ) {}

  /** The next seq, once the window allows it; rejects when `deadlineAt` passes first. */
  async acquire(deadlineAt: number, deadlineMs: number, operation: string): Promise<number> {
    while (this.nextSeq - this.lowestOpen() >= this.windowMax) {
      if (this.closed) throw new ClientClosedError("the client is closed");
      const remainingMs = deadlineAt - this.runtime.now();
      if (remainingMs <= 0) {
        throw new TimeoutError(operation, deadlineMs, [], new Error(`waited for a write slot: ${this.open.size} writes of session ${this.sessionId} were unanswered (writesInFlightMax ${this.windowMax})`));
      }
      await new Promise<void>((resolve) => {
        const cancel = this.runtime.after(remainingMs, resolve);
        this.waiters.push(() => {
          cancel();
          resolve();
        });
      });
    }
    const seq = this.nextSeq++;
    this.open.add(seq);
    return seq;
  }

  /** The session ref to send for `seq` now (lowestUnackedSeq moves up as writes finish). */
  ref(seq: number): SessionRef {
    return { sessionId: this.sessionId, seq, lowestUnackedSeq: this.lowestOpen() };
  }

  /** The write with `seq` is finished: its reply was seen, or the caller gave up on it. */
  release(seq: number): void {
    this.open.delete(seq);
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  close(): void {
    this.closed = true;
    this.release(0);
  }

  private lowestOpen(): number {
    let lowest = this.nextSeq;
    for (const seq of this.open) if (seq < lowest) lowest = seq;
    return lowest;
  }
}
