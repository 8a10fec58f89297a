import { setImmediate as nextTurn } from "node:timers/promises";
import type { Scheduler } from "./scheduler.js";

/** The production scheduler: Node's timers, setImmediate for a turn, and the wall clock. */
export const NODE_SCHEDULER: Scheduler = {
  now: Date.now,
  after(delayMs, action) {
    const timer = setTimeout(action, delayMs);
    return () => clearTimeout(timer);
  },
  every(intervalMs, action) {
    const timer = setInterval(action, intervalMs);
    return () => clearInterval(timer);
  },
  nextTurn: () => nextTurn(),
};
