/**
 * Orders a connection's reads after its writes: a read that arrives while writes sent
 * before it are still running waits until each of them has finished, so a pipelining
 * client reads its own writes. Reads and writes that arrive later do not hold it back.
 *
 * A write costs a number and a set entry; only a read that has to wait costs a promise.
 * (It was a Promise.all chain extended by every write, a few promises per write whether
 * or not a read ever waited.)
 */
export class WriteBarrier {
  /** Writes started so far: the number of the latest. */
  private started = 0;
  /** Numbers of the writes still running; a Set keeps them in start order, so the first is the oldest. */
  private readonly running = new Set<number>();
  /** Reads waiting, each for the writes numbered up to `after`; `after` never decreases along the queue. */
  private waiting: { readonly after: number; readonly wake: () => void }[] = [];

  /** A write starts: its number, for `writeFinished`. */
  writeStarted(): number {
    this.started++;
    this.running.add(this.started);
    return this.started;
  }

  writeFinished(write: number): void {
    this.running.delete(write);
    if (this.waiting.length === 0) return;
    const oldestRunning = this.running.size === 0 ? Number.POSITIVE_INFINITY : (this.running.values().next().value as number);
    let woken = 0;
    while (woken < this.waiting.length && (this.waiting[woken] as { after: number }).after < oldestRunning) woken++;
    if (woken === 0) return;
    const ready = this.waiting.slice(0, woken);
    this.waiting = this.waiting.slice(woken);
    for (const read of ready) read.wake();
  }

  /** Undefined when no write is running, so a read goes at once; else what settles once the writes running now have finished. */
  beforeRead(): Promise<void> | undefined {
    if (this.running.size === 0) return undefined;
    const after = this.started;
    return new Promise((wake) => this.waiting.push({ after, wake }));
  }
}
