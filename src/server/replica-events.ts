import { invariant } from "../assert/invariant.js";
import { EventEmitter } from "node:events";
import type { ReplicaEvent } from "./replica.js";

/**
 * Listeners on one kind of event at once, past which a new one is refused: the server
 * holds a handful (the fatal stop, a shutdown's leadership transfer), so reaching this
 * means listeners leak.
 */
export const REPLICA_EVENT_LISTENERS_MAX = 16;

type EventOf<T extends ReplicaEvent["type"]> = Extract<ReplicaEvent, { type: T }>;

/**
 * The Replica's events (ReplicaOptions.onEvent) fanned out to the parts of the server
 * that act on them, so they listen rather than look at the Replica on a timer.
 */
export class ReplicaEvents {
  private readonly emitter = new EventEmitter();

  constructor(private readonly listenersMax = REPLICA_EVENT_LISTENERS_MAX) {}

  emit(event: ReplicaEvent): void {
    this.emitter.emit(event.type, event);
  }

  /** Calls `listener` with each event of `type` until the returned function is called. */
  on<T extends ReplicaEvent["type"]>(type: T, listener: (event: EventOf<T>) => void): () => void {
    const count = this.emitter.listenerCount(type);
    invariant(count < this.listenersMax, () =>
      `${count} listeners on the replica's "${type}" events (REPLICA_EVENT_LISTENERS_MAX): listeners leak`);
    const wrapped = (event: EventOf<T>): void => listener(event);
    this.emitter.on(type, wrapped);
    return () => this.emitter.off(type, wrapped);
  }

  /** The first event of `type` that `match` accepts; undefined if `signal` aborts first. */
  next<T extends ReplicaEvent["type"]>(type: T, match: (event: EventOf<T>) => boolean, signal: AbortSignal): Promise<EventOf<T> | undefined> {
    if (signal.aborted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const finish = (event: EventOf<T> | undefined): void => {
        off();
        signal.removeEventListener("abort", onAbort);
        resolve(event);
      };
      const onAbort = (): void => finish(undefined);
      const off = this.on(type, (event) => {
        if (match(event)) finish(event);
      });
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  listenerCount(type: ReplicaEvent["type"]): number {
    return this.emitter.listenerCount(type);
  }
}
