/**
 * Slots of keys with an expiry, earliest first: a binary min-heap over typed arrays (16
 * bytes per entry, no object). Ties are in no particular order: the owner sorts what
 * expires at one stamp by key, so that every replica removes them in the same order
 * whatever its heap looks like.
 *
 * Entries are not removed when a key is rewritten or deleted (a heap cannot find them
 * cheaply); each carries its slot's generation, and the owner checks a popped entry
 * against the slot's current generation and expiry and skips stale ones. The owner
 * bounds the stale entries with `clear` and pushes of the live ones.
 */
const INITIAL_ENTRIES = 64;

export class ExpiryQueue {
  private times = new Float64Array(INITIAL_ENTRIES);
  private slots = new Int32Array(INITIAL_ENTRIES);
  private generations = new Uint32Array(INITIAL_ENTRIES);
  private length = 0;

  get size(): number {
    return this.length;
  }

  push(expiresAtMs: number, slot: number, generation: number): void {
    if (this.length === this.times.length) this.grow();
    this.times[this.length] = expiresAtMs;
    this.slots[this.length] = slot;
    this.generations[this.length] = generation;
    this.siftUp(this.length++);
  }

  /** The earliest expiry, or undefined when empty. */
  peekMs(): number | undefined {
    return this.length === 0 ? undefined : this.times[0];
  }

  /** The slot of the earliest entry (the queue must not be empty). */
  peekSlot(): number {
    return this.slots[0] as number;
  }

  /** The slot generation of the earliest entry (the queue must not be empty). */
  peekGeneration(): number {
    return this.generations[0] as number;
  }

  /** Drops the earliest entry. */
  pop(): void {
    if (this.length === 0) return;
    this.length--;
    if (this.length === 0) return;
    this.move(this.length, 0);
    this.siftDown(0);
  }

  clear(): void {
    this.times = new Float64Array(INITIAL_ENTRIES);
    this.slots = new Int32Array(INITIAL_ENTRIES);
    this.generations = new Uint32Array(INITIAL_ENTRIES);
    this.length = 0;
  }

  private grow(): void {
    const capacity = this.times.length * 2;
    const times = new Float64Array(capacity);
    const slots = new Int32Array(capacity);
    const generations = new Uint32Array(capacity);
    times.set(this.times);
    slots.set(this.slots);
    generations.set(this.generations);
    this.times = times;
    this.slots = slots;
    this.generations = generations;
  }

  private siftUp(start: number): void {
    let child = start;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if ((this.times[child] as number) >= (this.times[parent] as number)) return;
      this.swap(child, parent);
      child = parent;
    }
  }

  private siftDown(start: number): void {
    let parent = start;
    while (true) {
      const left = 2 * parent + 1;
      const right = left + 1;
      let smallest = parent;
      if (left < this.length && (this.times[left] as number) < (this.times[smallest] as number)) smallest = left;
      if (right < this.length && (this.times[right] as number) < (this.times[smallest] as number)) smallest = right;
      if (smallest === parent) return;
      this.swap(parent, smallest);
      parent = smallest;
    }
  }

  private move(from: number, to: number): void {
    this.times[to] = this.times[from] as number;
    this.slots[to] = this.slots[from] as number;
    this.generations[to] = this.generations[from] as number;
  }

  private swap(i: number, j: number): void {
    const time = this.times[i] as number;
    const slot = this.slots[i] as number;
    const generation = this.generations[i] as number;
    this.move(j, i);
    this.times[j] = time;
    this.slots[j] = slot;
    this.generations[j] = generation;
  }
}
