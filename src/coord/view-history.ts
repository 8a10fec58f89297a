import type { CoordEvent } from "./view-changes.js";
import { describeCoordEvent } from "./view-changes.js";

/** The events that change the view; reports refused or not authenticated change nothing and are not kept. */
export type ViewChange = Exclude<CoordEvent, { type: "refused" } | { type: "unauthenticated" }>;

/** One change of the view as the status page lists it: when, what, and a line for a person. */
export interface HistoryEntry {
  /** Coordinator time (ms since the epoch) when the change was seen. */
  readonly atMs: number;
  readonly event: ViewChange;
  /** `describeCoordEvent`'s line, so the page and the terminal say the same words. */
  readonly text: string;
}

export function isViewChange(event: CoordEvent): event is ViewChange {
  return event.type !== "refused" && event.type !== "unauthenticated";
}

/**
 * The last `entriesMax` changes of the view, oldest first: the leader's history and the
 * elections (leader-changed), joins, members going silent and coming back. Pure: time is
 * an argument. A bounded ring, so a flapping member costs a fixed amount of memory; the
 * oldest entries go first.
 */
export class ViewHistory {
  private readonly entries: HistoryEntry[] = [];

  constructor(private readonly entriesMax: number) {
    if (!Number.isSafeInteger(entriesMax) || entriesMax < 1) throw new RangeError(`historyEntriesMax must be a whole number >= 1, got ${entriesMax}`);
  }

  /** Keeps the view changes among `events`; answers the entries it added. */
  record(events: readonly CoordEvent[], atMs: number): HistoryEntry[] {
    const added = events.filter(isViewChange).map((event) => ({ atMs, event, text: describeCoordEvent(event) }));
    this.entries.push(...added);
    if (this.entries.length > this.entriesMax) this.entries.splice(0, this.entries.length - this.entriesMax);
    return added.slice(-this.entriesMax);
  }

  list(): readonly HistoryEntry[] {
    return [...this.entries];
  }
}
