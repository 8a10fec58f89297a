import { violation } from "./checker.js";
import type { NodeId } from "../../raft/types.js";

/**
 * Members stopped as by a long GC pause or SIGSTOP: the process runs nothing, so what
 * reaches it waits. On resume it first runs its own timers that came due (a disk write
 * that finished meanwhile), then the client work that queued up, and only then the
 * messages from its peers, among them those that would tell it it was deposed: the
 * order in which a resumed process drains its event loop when client connections are
 * served ahead of the peer port.
 */
export type HeldLane = "local" | "client" | "message";

const LANES: readonly HeldLane[] = ["local", "client", "message"];

/** What one paused member may hold: far above what a pause of a second collects. */
export const HELD_EVENTS_MAX = 100_000;

export class PauseGate<T> {
  private readonly held = new Map<NodeId, Record<HeldLane, T[]>>();

  isPaused(id: NodeId): boolean {
    return this.held.has(id);
  }

  pausedIds(): NodeId[] {
    return [...this.held.keys()];
  }

  /** Stops the member; false when it was already paused. */
  pause(id: NodeId): boolean {
    if (this.held.has(id)) return false;
    this.held.set(id, { local: [], client: [], message: [] });
    return true;
  }

  /** Keeps `event` for the member's resume; false when it is running (deliver it now). */
  hold(id: NodeId, lane: HeldLane, event: T): boolean {
    const lanes = this.held.get(id);
    if (lanes === undefined) return false;
    const count = lanes.local.length + lanes.client.length + lanes.message.length;
    if (count >= HELD_EVENTS_MAX) violation("simulator-limit", `paused member ${id} holds ${count} events, the most HELD_EVENTS_MAX allows`);
    lanes[lane].push(event);
    return true;
  }

  /** Runs the member again: what it held, in the order it sees it. */
  resume(id: NodeId): T[] {
    const lanes = this.held.get(id);
    this.held.delete(id);
    return lanes === undefined ? [] : LANES.flatMap((lane) => lanes[lane]);
  }

  /** The member was killed while paused: what it had not seen is lost with the process. */
  drop(id: NodeId): void {
    this.held.delete(id);
  }
}
