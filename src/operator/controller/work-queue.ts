import { invariant } from "../../assert/invariant.js";

export interface WorkQueueOptions {
  /** Distinct keys held at once (queued, delayed or in progress). Past it, add() refuses. */
  readonly keysMax: number;
  /** The first retry after an error waits this long; each further error doubles it. */
  readonly baseDelayMs: number;
  readonly delayMaxMs: number;
}

export const DEFAULT_QUEUE_OPTIONS: WorkQueueOptions = { keysMax: 10_000, baseDelayMs: 500, delayMaxMs: 5 * 60_000 };

/** The retry delay after `failures` consecutive errors: base * 2^(failures-1), capped. */
export function backoffDelayMs(failures: number, options: Pick<WorkQueueOptions, "baseDelayMs" | "delayMaxMs">): number {
  if (failures < 1) return 0;
  const exponent = Math.min(failures - 1, 30); // 2^30 times any base is past any sensible cap
  return Math.min(options.delayMaxMs, options.baseDelayMs * 2 ** exponent);
}

/**
 * The reconcile queue, keyed by "namespace/name". A key is queued at most once however
 * many events name it; a key being processed is never handed out twice at once, and if it
 * is added meanwhile it is queued again when done (so no event is lost and no cluster is
 * reconciled concurrently with itself). Errors requeue the key after an exponential
 * backoff; success forgets its failures.
 */
export class WorkQueue {
  private readonly ready: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  /** Added while processing: queue again on done(). */
  private readonly dirty = new Set<string>();
  private readonly delayed = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly failures = new Map<string, number>();
  private waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;

  constructor(private readonly options: WorkQueueOptions = DEFAULT_QUEUE_OPTIONS) {
    if (options.keysMax < 1 || options.baseDelayMs < 0 || options.delayMaxMs < options.baseDelayMs) {
      throw new RangeError(`work queue options are inconsistent: ${JSON.stringify(options)}`);
    }
  }

  /** Keys held in any state, for the bound and for metrics. */
  get size(): number {
    const keys = new Set([...this.queued, ...this.processing, ...this.delayed.keys()]);
    return keys.size;
  }

  get depth(): number {
    return this.ready.length;
  }

  /** Queues a key now. False when the queue is at its bound (the periodic resync brings it back). */
  add(key: string): boolean {
    if (this.shuttingDown) return false;
    if (this.queued.has(key)) return true;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return true;
    }
    if (!this.delayed.has(key) && this.size >= this.options.keysMax) return false;
    this.cancelDelay(key);
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      this.processing.add(key);
      waiter(key);
      return true;
    }
    this.queued.add(key);
    this.ready.push(key);
    return true;
  }

  /** Queues a key after a delay; an earlier pending delay for it wins. */
  addAfter(key: string, delayMs: number): boolean {
    if (this.shuttingDown) return false;
    if (delayMs <= 0) return this.add(key);
    if (this.queued.has(key) || this.delayed.has(key)) return true;
    if (!this.processing.has(key) && this.size >= this.options.keysMax) return false;
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref?.();
    this.delayed.set(key, timer);
    return true;
  }

  /** Requeues a key after an error, backing off exponentially with its consecutive failures. */
  addWithBackoff(key: string): number {
    const failures = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, failures);
    const delay = backoffDelayMs(failures, this.options);
    this.addAfter(key, delay);
    return delay;
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** A success: the next error starts the backoff from the beginning. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** The next key to process, waiting for one; undefined once shut down. */
  get(): Promise<string | undefined> {
    const key = this.ready.shift();
    if (key !== undefined) {
      this.queued.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The key's processing ended; queue it again if it was added meanwhile. */
  done(key: string): void {
    invariant(this.processing.delete(key), () => `work queue: done(${key}) for a key that was not being processed`);
    if (this.dirty.delete(key)) this.add(key);
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const timer of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter(undefined);
  }

  private cancelDelay(key: string): void {
    const timer = this.delayed.get(key);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.delayed.delete(key);
  }
}
