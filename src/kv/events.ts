import { startsWith } from "./bytes.js";

/**
 * Watch events: what changed at which revision. A "flush" event stands for the
 * deletion of every key by flush-all, so that one command cannot flood the history.
 */
export type KvEvent =
  | {
      readonly type: "put";
      readonly revision: number;
      readonly key: Uint8Array;
      readonly value: Uint8Array;
      readonly flags: number;
      readonly version: number;
      readonly createVersion: number;
    }
  | {
      readonly type: "delete";
      readonly revision: number;
      readonly key: Uint8Array;
      /** The deleted key's last version. */
      readonly previousVersion: number;
      /** True when the key was removed because its expiry passed. */
      readonly expired: boolean;
    }
  | { readonly type: "flush"; readonly revision: number };

export type EventsResult =
  | {
      readonly ok: true;
      /** The applied index when the events were read. */
      readonly revision: number;
      readonly events: KvEvent[];
      /** Pass this to the next call to continue after these events. */
      readonly nextRevision: number;
    }
  | {
      readonly ok: false;
      readonly error: "compacted";
      readonly revision: number;
      /** The oldest revision still in the history. */
      readonly compactRevision: number;
      readonly message: string;
    };

/** Per-event bookkeeping bytes counted on top of key and value, so empty events still cost. */
const EVENT_OVERHEAD_BYTES = 64;

/**
 * The recent events, oldest first, bounded by count and bytes. Every event with a
 * revision >= `startRevision` is kept; older ones may be gone. The history is local
 * (not in snapshots): after a restore it starts after the snapshot's index.
 */
export class EventHistory {
  private events: KvEvent[] = [];
  /** Position of the oldest kept event: dropping from the front is O(1). */
  private head = 0;
  private bytes = 0;

  constructor(
    private startRevision: number,
    private readonly eventsMax: number,
    private readonly bytesMax: number,
  ) {}

  get oldestRevision(): number {
    return this.startRevision;
  }

  get length(): number {
    return this.events.length - this.head;
  }

  append(event: KvEvent): void {
    this.events.push(event);
    this.bytes += eventBytes(event);
    while (this.length > 0 && (this.length > this.eventsMax || this.bytes > this.bytesMax)) this.dropOldest();
  }

  /**
   * Events with revision >= `revision` whose key starts with `prefix` (flush events
   * always match). Stops after the revision at which `limit` events are reached, so
   * a page never ends in the middle of a revision.
   */
  since(revision: number, prefix: Uint8Array, limit: number, appliedIndex: number): EventsResult {
    if (revision < this.startRevision) {
      const message =
        `revision ${revision} is compacted: history starts at ${this.startRevision}; ` +
        "read the current state and watch from there";
      return { ok: false, error: "compacted", revision: appliedIndex, compactRevision: this.startRevision, message };
    }
    const matched: KvEvent[] = [];
    let nextRevision = Math.max(revision, appliedIndex + 1);
    for (let i = this.firstAtOrAfter(revision); i < this.events.length; i++) {
      const event = this.events[i] as KvEvent;
      if (matched.length >= limit && event.revision !== (matched[matched.length - 1] as KvEvent).revision) {
        nextRevision = event.revision;
        break;
      }
      if (event.type === "flush" || startsWith(event.key, prefix)) matched.push(event);
    }
    return { ok: true, revision: appliedIndex, events: matched, nextRevision };
  }

  private firstAtOrAfter(revision: number): number {
    let low = this.head;
    let high = this.events.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((this.events[middle] as KvEvent).revision < revision) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private dropOldest(): void {
    const oldest = this.events[this.head] as KvEvent;
    this.bytes -= eventBytes(oldest);
    this.head++;
    this.startRevision = oldest.revision + 1;
    // Reclaim the dropped prefix once it is most of the array.
    if (this.head > 1024 && this.head * 2 > this.events.length) {
      this.events = this.events.slice(this.head);
      this.head = 0;
    }
  }
}

function eventBytes(event: KvEvent): number {
  switch (event.type) {
    case "put":
      return EVENT_OVERHEAD_BYTES + event.key.length + event.value.length;
    case "delete":
      return EVENT_OVERHEAD_BYTES + event.key.length;
    case "flush":
      return EVENT_OVERHEAD_BYTES;
  }
}
