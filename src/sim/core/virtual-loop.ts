import { EventQueue } from "./event-queue.js";
import type { VirtualAgenda } from "./sim-scheduler.js";

/**
 * Microtask turns given to promise continuations after each event, before virtual time
 * moves on. The production ready loop (server/replica.ts) awaits its storage and its
 * turns; the continuations of one event run in these turns, at that event's virtual time.
 * A chain longer than this goes on in the next event's turns: later, but still in the
 * same order, so a run stays a function of its seed.
 */
export const MICROTASK_TURNS_PER_EVENT = 16;

/**
 * A virtual agenda that runs code written with promises: each event runs, then its
 * promise continuations do, then the clock jumps to the next event. No real timer is
 * involved, so the order of everything is fixed by the order of the events.
 */
export class VirtualLoop implements VirtualAgenda {
  private readonly queue = new EventQueue<() => void>();
  private clock = 0;
  /** Events run so far. */
  steps = 0;
  /** The first failure reported from inside the code under test (fail()); it ends the run. */
  private failure: { readonly error: unknown } | undefined;

  now(): number {
    return this.clock;
  }

  after(delayMs: number, action: () => void): void {
    this.queue.push(this.clock + delayMs, action);
  }

  /** Ends the run: runUntil throws `error` once the event under way and its continuations are done. */
  fail(error: unknown): void {
    this.failure ??= { error };
  }

  /** Runs events until `done()` holds (true) or the agenda passes `untilMs` or empties (false); throws what fail() was given. */
  async runUntil(done: () => boolean, untilMs: number): Promise<boolean> {
    await settle();
    while (!done()) {
      const at = this.queue.nextAt();
      if (at === undefined || at > untilMs) return false;
      const next = this.queue.pop();
      if (next === undefined) return false;
      this.clock = next.at;
      this.steps++;
      next.event();
      await settle();
      if (this.failure !== undefined) throw this.failure.error;
    }
    return true;
  }
}

const SETTLED = Promise.resolve();

/**
 * Runs the promise continuations of the event just run, at its virtual time: a chain of
 * empty reactions, one per turn (its awaiter's own turn is the last), which costs half
 * of as many `await`s in a loop, and the simulator runs it after every event.
 */
export function settle(turns = MICROTASK_TURNS_PER_EVENT): Promise<void> {
  let chain = SETTLED;
  for (let turn = 1; turn < turns; turn++) chain = chain.then();
  return chain;
}
