/**
 * What a member's ready loop needs of time: its clock, timers and a way to yield a turn.
 * The production scheduler (node-scheduler.ts) is Node's timers and Date.now; the
 * simulator's is its virtual agenda, so the same loop runs under a seed and replays.
 * Code that takes a Scheduler must reach for no timer or clock of its own.
 */
export interface Scheduler {
  /** The member's clock, in ms since the epoch (virtual in the simulator). */
  now(): number;
  /** Runs `action` once, `delayMs` from now; the returned function cancels it. */
  after(delayMs: number, action: () => void): () => void;
  /** Runs `action` every `intervalMs`; the returned function stops it. */
  every(intervalMs: number, action: () => void): () => void;
  /** Resolves on a later turn: after the I/O and timers that are due now have run. */
  nextTurn(): Promise<void>;
}

/** A wait of `delayMs` on `scheduler` that rejects with `cancelled()` if `signal` aborts first. */
export function sleepOn(scheduler: Scheduler, delayMs: number, signal: AbortSignal, cancelled: () => Error): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(cancelled());
      return;
    }
    const onAbort = (): void => {
      cancel();
      reject(cancelled());
    };
    const cancel = scheduler.after(delayMs, () => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    });
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
