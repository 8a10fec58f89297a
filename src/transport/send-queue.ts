import type { MessageType } from "../raft/messages.js";

/**
 * The bounded queue of encoded frames waiting for one peer's connection. Pure.
 *
 * Two lanes: snapshot chunks go in a lower-priority lane, everything else in the main
 * lane in send order, and a write takes the main lane first. A snapshot chunk is large
 * (snapshotChunkBytesMax, 1 MiB by default), so heartbeats, votes and appends queued
 * after it still leave first, and a snapshot transfer cannot starve the leader's lease.
 * Reordering across lanes is safe: Raft never relies on delivery order.
 *
 * The queue never holds more than `messagesMax` frames or `bytesMax` bytes. Raft
 * tolerates lost messages (it retransmits on timeouts and rejections), so a full queue
 * drops instead of growing: first the oldest snapshot chunk, then the oldest append,
 * both large and resent by the leader; only then the oldest of any other message.
 * Heartbeats are also coalesced: a heartbeat (or heartbeat response) of the same term as
 * one still waiting takes its place, because the newer carries a commit index and read
 * round at least as high, and answering it confirms every earlier round.
 */
export interface QueuedFrame {
  readonly messageType: MessageType;
  readonly term: number;
  /** The whole frame, header included. */
  readonly bytes: Uint8Array;
}

/** A place in a lane; coalescing swaps its frame without moving it. */
interface Slot {
  frame: QueuedFrame;
}

const COALESCED_TYPES: ReadonlySet<MessageType> = new Set<MessageType>(["Heartbeat", "HeartbeatResp"]);
/** Consumed lane slots kept before the array is compacted, so taking is O(1) amortised. */
const LANE_COMPACT_SLOTS_MIN = 1024;

class Lane {
  private slots: Slot[] = [];
  private head = 0;

  get length(): number {
    return this.slots.length - this.head;
  }

  push(slot: Slot): void {
    this.slots.push(slot);
  }

  peek(): Slot | undefined {
    return this.slots[this.head];
  }

  shift(): Slot | undefined {
    const slot = this.slots[this.head];
    if (slot === undefined) return undefined;
    this.slots[this.head++] = undefined as unknown as Slot;
    if (this.head >= LANE_COMPACT_SLOTS_MIN && this.head * 2 >= this.slots.length) {
      this.slots = this.slots.slice(this.head);
      this.head = 0;
    }
    return slot;
  }

  /** Removes and returns the oldest slot whose frame satisfies `match`. O(length). */
  removeFirst(match: (frame: QueuedFrame) => boolean): Slot | undefined {
    for (let i = this.head; i < this.slots.length; i++) {
      const slot = this.slots[i] as Slot;
      if (!match(slot.frame)) continue;
      if (i === this.head) return this.shift();
      this.slots.splice(i, 1);
      return slot;
    }
    return undefined;
  }

  clear(): Slot[] {
    const rest = this.slots.slice(this.head);
    this.slots = [];
    this.head = 0;
    return rest;
  }
}

export class SendQueue {
  private readonly main = new Lane();
  private readonly snapshots = new Lane();
  /** The waiting slot of each coalesced type, to be replaced by a newer one of its term. */
  private readonly coalescible = new Map<MessageType, Slot>();
  private queuedBytes = 0;

  constructor(
    private readonly messagesMax: number,
    private readonly bytesMax: number,
  ) {}

  get messages(): number {
    return this.main.length + this.snapshots.length;
  }

  get bytes(): number {
    return this.queuedBytes;
  }

  /**
   * Queues `frame`. Returns the frames dropped to stay within the limits (maybe `frame`
   * itself), and whether `frame` replaced a waiting heartbeat instead of adding one.
   */
  push(frame: QueuedFrame): { readonly dropped: QueuedFrame[]; readonly coalesced: boolean } {
    if (frame.bytes.length > this.bytesMax) return { dropped: [frame], coalesced: false };
    const dropped: QueuedFrame[] = [];
    const waiting = this.coalescible.get(frame.messageType);
    const coalesced = waiting !== undefined && waiting.frame.term === frame.term;
    if (coalesced) {
      this.queuedBytes += frame.bytes.length - waiting.frame.bytes.length;
      waiting.frame = frame;
    } else {
      const slot: Slot = { frame };
      (frame.messageType === "Snap" ? this.snapshots : this.main).push(slot);
      if (COALESCED_TYPES.has(frame.messageType)) this.coalescible.set(frame.messageType, slot);
      this.queuedBytes += frame.bytes.length;
    }
    while (this.messages > this.messagesMax || this.queuedBytes > this.bytesMax) {
      dropped.push(this.evictOne());
    }
    return { dropped, coalesced };
  }

  /**
   * Removes the frames for one socket write: main lane first, then snapshot chunks, up
   * to `bytesMax` in total but always at least one frame when any is waiting.
   */
  takeBatch(bytesMax: number): QueuedFrame[] {
    const batch: QueuedFrame[] = [];
    let batchBytes = 0;
    for (const lane of [this.main, this.snapshots]) {
      for (let slot = lane.peek(); slot !== undefined; slot = lane.peek()) {
        const size = slot.frame.bytes.length;
        if (batch.length > 0 && batchBytes + size > bytesMax) return batch;
        lane.shift();
        this.forget(slot);
        batch.push(slot.frame);
        batchBytes += size;
      }
    }
    return batch;
  }

  /** Empties the queue and returns what it held. */
  clear(): QueuedFrame[] {
    this.coalescible.clear();
    this.queuedBytes = 0;
    return [...this.main.clear(), ...this.snapshots.clear()].map((slot) => slot.frame);
  }

  private evictOne(): QueuedFrame {
    const slot = this.snapshots.shift()
      ?? this.main.removeFirst((frame) => frame.messageType === "App")
      ?? this.main.shift();
    // The loop that calls this runs only while the queue is over a limit, so not empty.
    if (slot === undefined) throw new Error("send queue: over its limits with no frame to drop");
    this.forget(slot);
    return slot.frame;
  }

  private forget(slot: Slot): void {
    this.queuedBytes -= slot.frame.bytes.length;
    if (this.coalescible.get(slot.frame.messageType) === slot) this.coalescible.delete(slot.frame.messageType);
  }
}
