import type { Scheduler } from "../../server/scheduler.js";

/** The simulation's agenda as a member sees it: virtual time and actions run at a virtual time. */
export interface VirtualAgenda {
  now(): number;
  after(delayMs: number, action: () => void): void;
}

/**
 * A member's Scheduler on the simulator's virtual agenda: the production ready loop
 * (server/replica.ts) runs on it unchanged, and a run stays a function of its seed.
 * `halt` is the process dying: nothing it scheduled runs any more, and a next turn it
 * was waiting for never comes.
 */
export class SimScheduler implements Scheduler {
  private halted = false;

  /**
   * `clockOffsetMs`: this member's clock minus the simulation's (an epoch, and a skew), not
   * below 0 at the start. `tickRate`: how fast its periodic timers run against the run's
   * clock (a clock ticking fast or slow, situations.ts), read at each period.
   */
  constructor(private readonly agenda: VirtualAgenda, private readonly clockOffsetMs: number, private readonly tickRate: () => number = () => 1) {}

  /** Whole milliseconds, as Date.now: entry stamps must be integers. */
  now(): number {
    return Math.floor(this.agenda.now() + this.clockOffsetMs);
  }

  after(delayMs: number, action: () => void): () => void {
    let cancelled = false;
    this.agenda.after(delayMs, () => {
      if (!cancelled && !this.halted) action();
    });
    return () => { cancelled = true; };
  }

  every(intervalMs: number, action: () => void): () => void {
    let stopped = false;
    const run = (): void => {
      if (stopped || this.halted) return;
      action();
      this.agenda.after(intervalMs / this.tickRate(), run);
    };
    this.agenda.after(intervalMs / this.tickRate(), run);
    return () => { stopped = true; };
  }

  /** At the same virtual time, after every event already due then (the agenda breaks ties in order). */
  nextTurn(): Promise<void> {
    return new Promise((resolve) => {
      this.agenda.after(0, () => {
        if (!this.halted) resolve();
      });
    });
  }

  halt(): void {
    this.halted = true;
  }
}
