/**
 * The simulator's agenda: events ordered by virtual time, ties broken by insertion
 * order so that a run is a pure function of its seed.
 */
export interface Scheduled<T> {
  readonly at: number;
  readonly seq: number;
  readonly event: T;
}

export class EventQueue<T> {
  private readonly heap: Scheduled<T>[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  /** When the next event is due (undefined: none is). */
  nextAt(): number | undefined {
    return this.heap[0]?.at;
  }

  push(at: number, event: T): void {
    const item: Scheduled<T> = { at, seq: this.seq++, event };
    const heap = this.heap;
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(item, heap[parent] as Scheduled<T>)) break;
      heap[i] = heap[parent] as Scheduled<T>;
      i = parent;
    }
    heap[i] = item;
  }

  pop(): Scheduled<T> | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    let i = 0;
    const n = heap.length;
    while (true) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && before(heap[right] as Scheduled<T>, heap[left] as Scheduled<T>) ? right : left;
      if (!before(heap[child] as Scheduled<T>, last)) break;
      heap[i] = heap[child] as Scheduled<T>;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}

function before<T>(a: Scheduled<T>, b: Scheduled<T>): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
