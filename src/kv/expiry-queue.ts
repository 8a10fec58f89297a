/**
 * Keys with an expiry, ordered by (expiresAtMs, key id): a binary min-heap. The order
 * is total, so every replica removes expired keys in the same order and so emits the
 * same delete events.
 *
 * Entries are not removed when a key is rewritten or deleted (a heap cannot find them
 * cheaply); the owner checks each popped entry against the key's current expiry and
 * skips stale ones. `rebuild` bounds the stale entries.
 */
export interface ExpiryEntry {
  readonly expiresAtMs: number;
  readonly id: string;
}

export class ExpiryQueue {
  private heap: ExpiryEntry[] = [];

  get size(): number {
    return this.heap.length;
  }

  push(entry: ExpiryEntry): void {
    this.heap.push(entry);
    this.siftUp(this.heap.length - 1);
  }

  peek(): ExpiryEntry | undefined {
    return this.heap[0];
  }

  pop(): ExpiryEntry | undefined {
    const top = this.heap[0];
    const last = this.heap.pop();
    if (top === undefined || last === undefined) return undefined;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  /** Replaces the contents with exactly `entries` (the live ones), dropping stale ones. */
  rebuild(entries: ExpiryEntry[]): void {
    this.heap = entries;
    for (let i = (entries.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  clear(): void {
    this.heap = [];
  }

  private siftUp(start: number): void {
    const heap = this.heap;
    let child = start;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (!before(heap[child] as ExpiryEntry, heap[parent] as ExpiryEntry)) return;
      swap(heap, child, parent);
      child = parent;
    }
  }

  private siftDown(start: number): void {
    const heap = this.heap;
    let parent = start;
    while (true) {
      const left = 2 * parent + 1;
      const right = left + 1;
      let smallest = parent;
      if (left < heap.length && before(heap[left] as ExpiryEntry, heap[smallest] as ExpiryEntry)) smallest = left;
      if (right < heap.length && before(heap[right] as ExpiryEntry, heap[smallest] as ExpiryEntry)) smallest = right;
      if (smallest === parent) return;
      swap(heap, parent, smallest);
      parent = smallest;
    }
  }
}

function before(a: ExpiryEntry, b: ExpiryEntry): boolean {
  return a.expiresAtMs < b.expiresAtMs || (a.expiresAtMs === b.expiresAtMs && a.id < b.id);
}

function swap(heap: ExpiryEntry[], i: number, j: number): void {
  const held = heap[i] as ExpiryEntry;
  heap[i] = heap[j] as ExpiryEntry;
  heap[j] = held;
}
