import { NO_SLOT, type RecordTable } from "./record-table.js";

/**
 * The slots of a RecordTable in key byte order, for `list` and snapshots: 4 bytes per
 * key in Int32Array chunks (a flat sorted array would move half the keyspace per
 * insert). Chunks split at CHUNK_KEYS_MAX and disappear when empty, so each holds
 * 1..CHUNK_KEYS_MAX slots. Comparisons read the keys from the table.
 */
const CHUNK_KEYS_MAX = 1024;

interface Chunk {
  slots: Int32Array;
  length: number;
}

export class SortedSlots {
  private chunks: Chunk[] = [];
  private count = 0;

  constructor(private readonly records: RecordTable) {}

  get size(): number {
    return this.count;
  }

  /** A read-only copy of the order as it is now (4 bytes per key). */
  copy(): SortedSlots {
    const copy = new SortedSlots(this.records);
    copy.chunks = this.chunks.map((chunk) => ({ slots: chunk.slots.slice(0, chunk.length), length: chunk.length }));
    copy.count = this.count;
    return copy;
  }

  /** Adds `slot`, whose key `key` must not be present yet. */
  insert(slot: number, key: Uint8Array): void {
    // Keys written in increasing order (a load, time-ordered names) skip the search.
    const last = this.last();
    if (last === NO_SLOT || this.records.compareKey(last, key) < 0) {
      this.append(slot);
      return;
    }
    const chunkIndex = Math.min(this.chunkFor(key), this.chunks.length - 1);
    const chunk = this.chunks[chunkIndex] as Chunk;
    const position = this.lowerBound(chunk, key);
    if (chunk.slots.length === chunk.length) chunk.slots = widened(chunk.slots);
    chunk.slots.copyWithin(position + 1, position, chunk.length);
    chunk.slots[position] = slot;
    chunk.length++;
    this.count++;
    if (chunk.length > CHUNK_KEYS_MAX) {
      const half = chunk.length >> 1;
      const upper = { slots: new Int32Array(CHUNK_KEYS_MAX + 1), length: chunk.length - half };
      upper.slots.set(chunk.slots.subarray(half, chunk.length));
      chunk.length = half;
      this.chunks.splice(chunkIndex + 1, 0, upper);
    }
  }

  /** Adds `slot` after every slot present: its key must be larger than theirs. */
  append(slot: number): void {
    let last = this.chunks[this.chunks.length - 1];
    if (last === undefined || last.length >= CHUNK_KEYS_MAX) {
      last = { slots: new Int32Array(CHUNK_KEYS_MAX + 1), length: 0 };
      this.chunks.push(last);
    }
    if (last.slots.length === last.length) last.slots = widened(last.slots);
    last.slots[last.length++] = slot;
    this.count++;
  }

  /** The last slot in order, or NO_SLOT when empty. */
  last(): number {
    const chunk = this.chunks[this.chunks.length - 1];
    return chunk === undefined ? NO_SLOT : (chunk.slots[chunk.length - 1] as number);
  }

  /** Removes `slot`, whose key is `key`; returns false when it was absent. */
  remove(slot: number, key: Uint8Array): boolean {
    const chunkIndex = this.chunkFor(key);
    const chunk = this.chunks[chunkIndex];
    if (chunk === undefined) return false;
    const position = this.lowerBound(chunk, key);
    if (position >= chunk.length || chunk.slots[position] !== slot) return false;
    chunk.slots.copyWithin(position, position + 1, chunk.length);
    chunk.length--;
    this.count--;
    if (chunk.length === 0) this.chunks.splice(chunkIndex, 1);
    return true;
  }

  clear(): void {
    this.chunks = [];
    this.count = 0;
  }

  /** Calls `visit` with every slot, in key order. */
  forEach(visit: (slot: number) => void): void {
    for (const chunk of this.chunks) {
      for (let i = 0; i < chunk.length; i++) visit(chunk.slots[i] as number);
    }
  }

  /**
   * A cursor over the slots from `start` upward (excluding `start` itself when
   * `exclusive`). The order must not change while the cursor is in use.
   */
  from(start: Uint8Array, exclusive: boolean): SlotCursor {
    const chunkIndex = this.chunkFor(start);
    const chunk = this.chunks[chunkIndex];
    let position = chunk === undefined ? 0 : this.lowerBound(chunk, start);
    if (chunk !== undefined && exclusive && position < chunk.length && this.records.compareKey(chunk.slots[position] as number, start) === 0) {
      position++;
    }
    return new SlotCursor(this.chunks, chunkIndex, position);
  }

  /** The first chunk whose last key is >= `key` (chunks.length when there is none). */
  private chunkFor(key: Uint8Array): number {
    let low = 0;
    let high = this.chunks.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      const chunk = this.chunks[middle] as Chunk;
      if (this.records.compareKey(chunk.slots[chunk.length - 1] as number, key) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** The first position in `chunk` whose key is >= `key`. */
  private lowerBound(chunk: Chunk, key: Uint8Array): number {
    let low = 0;
    let high = chunk.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (this.records.compareKey(chunk.slots[middle] as number, key) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

/** A chunk of a copy (exact length) that an insert reaches: back to full capacity. */
function widened(slots: Int32Array): Int32Array {
  const wider = new Int32Array(CHUNK_KEYS_MAX + 1);
  wider.set(slots);
  return wider;
}

/** Walks the slots of a SortedSlots in key order. */
export class SlotCursor {
  constructor(
    private readonly chunks: readonly Chunk[],
    private chunkIndex: number,
    private position: number,
  ) {}

  /** The next slot, or NO_SLOT at the end. */
  next(): number {
    for (; this.chunkIndex < this.chunks.length; this.chunkIndex++, this.position = 0) {
      const chunk = this.chunks[this.chunkIndex] as Chunk;
      if (this.position < chunk.length) return chunk.slots[this.position++] as number;
    }
    return NO_SLOT;
  }
}
