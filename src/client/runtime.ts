import { newRequestId } from "../request-id.js";

/**
 * What the client library reads of the world beside its connections: the time, timers,
 * chance and fresh request ids. Programs get the process's own (SYSTEM_RUNTIME); the
 * simulator (src/sim/core/) gives virtual ones, so that the library's retries, backoff
 * and session windows run under its seeds and a run replays step for step.
 */
export interface ClientRuntime {
  /** Milliseconds on a clock that does not go back (wall time is fine: only differences are used). */
  now(): number;
  /** Calls `action` once, `delayMs` from now; the answer cancels it. */
  after(delayMs: number, action: () => void): () => void;
  /** Uniform in [0, 1): the jitter between retries. */
  random(): number;
  /** A request id for a call the caller did not name. */
  newRequestId(): string;
}

export const SYSTEM_RUNTIME: ClientRuntime = Object.freeze({
  now: () => Date.now(),
  after: (delayMs: number, action: () => void) => {
    const timer = setTimeout(action, delayMs);
    return () => clearTimeout(timer);
  },
  random: () => Math.random(),
  newRequestId,
});

/** Resolves after `delayMs` on `runtime`'s clock. */
export function sleep(runtime: ClientRuntime, delayMs: number): Promise<void> {
  return new Promise((resolve) => {
    runtime.after(delayMs, resolve);
  });
}
