/**
 * Group commit: writes submitted while a write + fsync is in flight wait, and then go
 * together in one write and one fsync. With one flush in flight at a time, the batch
 * size follows the load: one writer gets one fsync per write, many writers share each.
 *
 * Order is the contract: items become durable, are applied and resolve in submission
 * order. Each item was checked against the state that all earlier items produce, so when
 * a flush fails, the failed items and every item queued behind them are rejected.
 */
import { StorageOverloadedError } from "./errors.js";

/** Where a chunk of bytes landed on disk. */
export interface PlacedBytes {
  readonly segmentSeq: number;
  readonly fileOffset: number;
}

/** Writes the chunks back to back, makes them durable, and says where each one landed. */
export type FlushChunks = (chunks: readonly Buffer[]) => Promise<readonly PlacedBytes[]>;

interface QueuedItem {
  readonly bytes: Buffer;
  readonly apply: (placed: PlacedBytes) => void;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export interface GroupCommitLimits {
  readonly groupCommitBytesMax: number;
  readonly persistQueueBytesMax: number;
}

export interface GroupCommitStats {
  /** Flushes, each one write and one fsync. */
  readonly flushes: number;
  readonly itemsFlushed: number;
  readonly bytesFlushed: number;
  /** Time spent inside flushes (the write and its fsync), summed: the IO side of group commit. */
  readonly flushMicroseconds: number;
}

export class GroupCommit {
  private queue: QueuedItem[] = [];
  private queuedBytesValue = 0;
  private running = false;
  private idleWaiters: (() => void)[] = [];
  private stats = { flushes: 0, itemsFlushed: 0, bytesFlushed: 0, flushMicroseconds: 0 };

  constructor(
    private readonly flush: FlushChunks,
    private readonly limits: GroupCommitLimits,
    /** Called before the rejections, so the owner can reset what it derived from the rejected items. */
    private readonly onFailure: (error: unknown) => void,
    /** Each completed flush (one write and one fsync): for latency histograms. */
    private readonly onFlush: (seconds: number, items: number, bytes: number) => void = () => undefined,
  ) {}

  queuedBytes(): number {
    return this.queuedBytesValue;
  }

  statistics(): GroupCommitStats {
    return { ...this.stats };
  }

  /**
   * Queues bytes; `apply` runs once they are durable, before the promise resolves. The
   * queue bound is checked synchronously and throws, so a refused item changes nothing.
   */
  submit(bytes: Buffer, apply: (placed: PlacedBytes) => void): Promise<void> {
    const queued = this.queuedBytesValue + bytes.length;
    // A single write larger than the bound still goes through when nothing else is outstanding.
    if (queued > this.limits.persistQueueBytesMax && this.queuedBytesValue > 0) {
      throw new StorageOverloadedError(queued, this.limits.persistQueueBytesMax);
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ bytes, apply, resolve, reject });
      this.queuedBytesValue = queued;
      if (!this.running) {
        this.running = true;
        // Start once the current synchronous code is done, so that writes submitted together share the
        // first flush. Starting at once was measured too: with 256 writers it alternates
        // flushes of 1 and 255 entries, spending half the fsyncs on a single entry, and the
        // writers' CPU work then delays that small flush's fsync instead of preceding the
        // big one: no faster, twice the fsyncs. A promise reaction rather than queueMicrotask,
        // which Node wraps in an async resource per call.
        void Promise.resolve().then(() => this.run());
      }
    });
  }

  /** Resolves once nothing is queued or in flight. */
  whenIdle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private takeBatch(): QueuedItem[] {
    let bytes = 0;
    let count = 0;
    for (const item of this.queue) {
      if (count > 0 && bytes + item.bytes.length > this.limits.groupCommitBytesMax) break;
      bytes += item.bytes.length;
      count++;
    }
    const batch = this.queue.slice(0, count);
    this.queue = this.queue.slice(count);
    return batch;
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.takeBatch();
      const started = performance.now();
      try {
        const placed = await this.flush(batch.map((item) => item.bytes));
        const elapsedMs = performance.now() - started;
        this.stats.flushMicroseconds += elapsedMs * 1000;
        let batchBytes = 0;
        for (const item of batch) batchBytes += item.bytes.length;
        this.onFlush(elapsedMs / 1000, batch.length, batchBytes);
        batch.forEach((item, i) => item.apply(placed[i] as PlacedBytes));
      } catch (error) {
        this.failAll(batch, error);
        continue;
      }
      let bytes = 0;
      for (const item of batch) bytes += item.bytes.length;
      this.queuedBytesValue -= bytes;
      this.stats.flushes++;
      this.stats.itemsFlushed += batch.length;
      this.stats.bytesFlushed += bytes;
      for (const item of batch) item.resolve();
    }
    this.running = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }

  private failAll(batch: readonly QueuedItem[], error: unknown): void {
    const rejected = [...batch, ...this.queue];
    this.queue = [];
    this.queuedBytesValue = 0;
    this.onFailure(error);
    for (const item of rejected) item.reject(error);
  }
}
