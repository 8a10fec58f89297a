/**
 * A full disk is not fatal. When a write of the Raft state (entries, hard state, a
 * received snapshot) fails with DiskFullError, the storage guarantees that nothing was
 * acknowledged and nothing durable was touched (src/storage/errors.ts), so the replica
 * holds the whole Ready (sends none of its acknowledgements, does not advance the core)
 * and retries the same write with a bounded exponential backoff until it succeeds. While
 * it waits, the member refuses new writes with NOSPACE, raises the DISK_FULL alarm and
 * keeps serving what needs no new durable write. Any other storage error stays fatal.
 */
import { type Bounds, checkBounds } from "../assert/bounds.js";
import { DiskFullError } from "../storage/index.js";
import { NoSpaceError } from "./errors.js";
import { type Scheduler, sleepOn } from "./scheduler.js";

export interface DiskFullRetryLimits {
  /** The first wait before a failed write is tried again. */
  readonly diskFullRetryMsMin: number;
  /** The wait doubles after each failure up to this. */
  readonly diskFullRetryMsMax: number;
}

export const DISK_FULL_RETRY_DEFAULTS: DiskFullRetryLimits = { diskFullRetryMsMin: 50, diskFullRetryMsMax: 2000 };
/** Below the minimum a full disk would be hammered; above the maximum writes would resume too late after space is back. */
export const DISK_FULL_RETRY_MS_BOUNDS: Bounds = [1, 60_000];

/** Checks the limits; a problem names the field. */
export function validateDiskFullRetryLimits(limits: DiskFullRetryLimits): DiskFullRetryLimits {
  checkBounds(limits, { diskFullRetryMsMin: DISK_FULL_RETRY_MS_BOUNDS, diskFullRetryMsMax: DISK_FULL_RETRY_MS_BOUNDS },
    (field, value, problem) => new RangeError(`${field} = ${String(value)}: ${problem}`));
  if (limits.diskFullRetryMsMin > limits.diskFullRetryMsMax) {
    throw new RangeError(`diskFullRetryMsMin = ${limits.diskFullRetryMsMin} is above diskFullRetryMsMax = ${limits.diskFullRetryMsMax}`);
  }
  return limits;
}

/** A retry ended because the member is stopping: not a storage failure. */
export class DiskFullRetryCancelled extends Error {
  override readonly name = "DiskFullRetryCancelled";
}

export type DiskFullEvent =
  | { readonly type: "disk-full"; readonly message: string }
  | { readonly type: "disk-space-recovered"; readonly fullForMs: number; readonly retries: number };

export class DiskFullRetry {
  private failure: DiskFullError | undefined;
  private fullSinceMs = 0;
  private retriesValue = 0;
  /** A local snapshot that found the disk full is not tried again before this (the clock's ms). */
  private snapshotRetryAtMs = 0;
  private readonly cancelling = new AbortController();

  constructor(
    private readonly memberId: number,
    private readonly limits: DiskFullRetryLimits,
    private readonly scheduler: Scheduler,
    private readonly onEvent: (event: DiskFullEvent) => void,
  ) {
    validateDiskFullRetryLimits(limits);
  }

  /** True from a write that found the disk full until a retried write succeeds. */
  isFull(): boolean {
    return this.failure !== undefined;
  }

  /** Failed writes tried again, in total: for metrics. */
  retries(): number {
    return this.retriesValue;
  }

  /** What a refused client and /readyz are told, while the disk is full. */
  message(): string | undefined {
    const failure = this.failure;
    if (failure === undefined) return undefined;
    const file = failure.file === undefined ? "" : ` (writing ${failure.file})`;
    return `the disk of member ${this.memberId} is full${file}: free space on its data dir's volume or grow it; writes resume by themselves`;
  }

  /** Refuses a new write (NOSPACE) while the disk is full. */
  refuseWrites(): void {
    const message = this.message();
    if (message !== undefined) throw new NoSpaceError(message, true);
  }

  /**
   * Runs `attempt` until it succeeds: a DiskFullError raises the alarm and is retried after
   * a wait that doubles from diskFullRetryMsMin to diskFullRetryMsMax; any other error is
   * thrown at once. `attempt` must be safe to repeat after a DiskFullError (the storage's
   * guarantee for a write it refused). `written` runs once it succeeds, in the same turn.
   *
   * Not `async`: a write that succeeds at once settles one turn after the storage's own
   * promise (every Ready with a write waits here; the retries are the rare path).
   */
  persist(attempt: () => Promise<void>, written: () => void = () => undefined): Promise<void> {
    const done = (): void => {
      this.clear();
      written();
    };
    let first: Promise<void>;
    try {
      first = attempt();
    } catch (error) {
      first = Promise.reject(error as Error);
    }
    return first.then(done, (error: unknown) => this.retry(error, attempt).then(done));
  }

  /** The retries after `error` (a first attempt's), until one succeeds. */
  private async retry(error: unknown, attempt: () => Promise<void>): Promise<void> {
    let waitMs = this.limits.diskFullRetryMsMin;
    for (;;) {
      if (!(error instanceof DiskFullError)) throw error;
      this.raise(error);
      await sleepOn(this.scheduler, waitMs, this.cancelling.signal, () =>
        new DiskFullRetryCancelled(`member ${this.memberId} is stopping: its write that found the disk full is given up`));
      this.retriesValue++;
      waitMs = Math.min(waitMs * 2, this.limits.diskFullRetryMsMax);
      try {
        await attempt();
        return;
      } catch (retryError) {
        error = retryError;
      }
    }
  }

  /** Whether a local snapshot may start now (one that found the disk full waits diskFullRetryMsMax). */
  snapshotMayStart(): boolean {
    return this.scheduler.now() >= this.snapshotRetryAtMs;
  }

  /**
   * A local snapshot failed: true if for a full disk, which only delays the next one (the
   * log keeps everything meanwhile); false for an error the caller must treat as fatal.
   */
  snapshotFailed(error: unknown): boolean {
    if (!(error instanceof DiskFullError)) return false;
    this.snapshotRetryAtMs = this.scheduler.now() + this.limits.diskFullRetryMsMax;
    return true;
  }

  /** Ends a wait under way (the member is stopping). */
  cancel(): void {
    this.cancelling.abort();
  }

  private raise(error: DiskFullError): void {
    const first = this.failure === undefined;
    this.failure = error;
    if (!first) return;
    this.fullSinceMs = this.scheduler.now();
    this.onEvent({ type: "disk-full", message: `${this.message() ?? ""} (${error.message})` });
  }

  private clear(): void {
    if (this.failure === undefined) return;
    this.failure = undefined;
    this.onEvent({ type: "disk-space-recovered", fullForMs: this.scheduler.now() - this.fullSinceMs, retries: this.retriesValue });
  }
}
