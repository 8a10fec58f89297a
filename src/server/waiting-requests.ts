import type { Bounds } from "../assert/bounds.js";
import type { KvResult } from "../kv/index.js";
import type { ReadState } from "../raft/ready.js";
import type { Entry } from "../raft/types.js";
import { BusyError, KvTimeoutError, NotLeaderError } from "./errors.js";
import type { ReplicaMetrics } from "./replica-metrics.js";

interface PendingProposal {
  readonly term: number;
  readonly resolve: (result: KvResult | undefined) => void;
  readonly reject: (error: Error) => void;
  readonly proposedAtMs: number;
  /** The client request this proposal serves (traces name it when the entry applies). */
  readonly requestId: string | undefined;
}

interface AppliedWaiter {
  readonly index: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * Callers of waitApplied waiting at once, past which a new one is refused as busy. Reads
 * that follow a ReadIndex and idle watches wait here (all of a member's watches share one
 * waiter), so the default leaves room for every proposal and read in flight; the maximum
 * keeps one member's array of waiters, scanned on every Ready, small.
 */
export const APPLIED_WAITERS_MAX_DEFAULT = 65_536;
export const APPLIED_WAITERS_MAX_BOUNDS: Bounds = [1, 1_048_576];

interface PendingRead {
  readonly resolve: (index: number) => void;
  readonly reject: (error: Error) => void;
  readonly startedAtMs: number;
}

/**
 * What a member's clients wait for: proposals until their entry applies, reads until a
 * leader confirms a read index and this member has applied past it, and callers of
 * waitApplied. The Replica feeds it what each Ready applied and confirmed; it settles
 * the promises. The number of proposals is bounded by the Replica (pendingProposalsMax),
 * reads by the Raft core (pendingReadsMax, refused as "busy"), callers of waitApplied by
 * appliedWaitersMax (refused as busy); proposals and reads expire after the request
 * timeout, and failAll settles every one of them.
 */
export class WaitingRequests {
  private readonly proposals = new Map<number, PendingProposal>();
  private readonly reads = new Map<string, PendingRead>();
  private readsAwaitingApply: { index: number; read: PendingRead }[] = [];
  private readonly appliedWaiters: AppliedWaiter[] = [];
  private nextReadId = 1;

  constructor(
    private readonly clock: () => number,
    private readonly metrics: ReplicaMetrics | undefined,
    private readonly appliedWaitersMax = APPLIED_WAITERS_MAX_DEFAULT,
  ) {}

  get proposalCount(): number {
    return this.proposals.size;
  }

  /** Waits for the entry proposed at `index` in `term`: its result once applied. */
  proposal(index: number, term: number, requestId?: string): Promise<KvResult | undefined> {
    const promise = new Promise<KvResult | undefined>((resolve, reject) => {
      this.proposals.set(index, { term, resolve, reject, proposedAtMs: this.clock(), requestId });
    });
    this.metrics?.proposals.inc();
    return promise;
  }

  /** A new read: the id to hand the Raft core, and the applied index to read at. */
  read(): { requestId: string; index: Promise<number> } {
    const requestId = `r${this.nextReadId++}`;
    const index = new Promise<number>((resolve, reject) => {
      this.reads.set(requestId, { resolve, reject, startedAtMs: this.clock() });
    });
    return { requestId, index };
  }

  /** Resolves once `serve` reports `index` applied; refused as busy past appliedWaitersMax. */
  appliedAtLeast(index: number): Promise<void> {
    if (this.appliedWaiters.length >= this.appliedWaitersMax) {
      return Promise.reject(new BusyError(`${this.appliedWaiters.length} requests are waiting for entries to apply (appliedWaitersMax): retry shortly`));
    }
    return new Promise((resolve, reject) => this.appliedWaiters.push({ index, resolve, reject }));
  }

  /** The request id of the proposal `entry` settles, if this member proposed it (and gave one). */
  requestIdOf(entry: Entry): string | undefined {
    const pending = this.proposals.get(entry.index);
    return pending?.term === entry.term ? pending.requestId : undefined;
  }

  /** An entry applied with `result`: settles its proposal, which failed if the term changed. */
  applied(entry: Entry, result: KvResult | undefined): void {
    const pending = this.proposals.get(entry.index);
    if (pending === undefined) return;
    this.proposals.delete(entry.index);
    if (pending.term === entry.term) {
      this.metrics?.proposalCommitSeconds.observe((this.clock() - pending.proposedAtMs) / 1000);
      pending.resolve(result);
    } else {
      pending.reject(new NotLeaderError(undefined, "leadership changed before the write committed; it was not applied: retry"));
    }
  }

  /** A read index confirmed (or refused) by the core; the read waits until it is applied. */
  confirmed(state: ReadState): void {
    const read = this.reads.get(state.requestId);
    if (read === undefined) return;
    this.reads.delete(state.requestId);
    if ("error" in state) {
      const error = state.error === "busy" ? new BusyError("too many reads waiting: retry shortly")
        : new NotLeaderError({ leaderId: state.leader });
      read.reject(error);
      return;
    }
    this.metrics?.readIndexSeconds.observe((this.clock() - read.startedAtMs) / 1000);
    this.readsAwaitingApply.push({ index: state.index, read });
  }

  /** This member has applied through `applied`: releases the reads and waiters it was holding. */
  serve(applied: number): void {
    if (this.readsAwaitingApply.length > 0) {
      const still: typeof this.readsAwaitingApply = [];
      for (const waiting of this.readsAwaitingApply) {
        if (waiting.index <= applied) waiting.read.resolve(waiting.index);
        else still.push(waiting);
      }
      this.readsAwaitingApply = still;
    }
    for (let i = this.appliedWaiters.length - 1; i >= 0; i--) {
      const waiter = this.appliedWaiters[i] as AppliedWaiter;
      if (waiter.index <= applied) {
        this.appliedWaiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  /**
   * Proposals at or below a snapshot installed here will not be applied one by one: whether
   * they took effect is unknown to this member (a client retries with its session).
   */
  lostToSnapshot(snapshotIndex: number): void {
    for (const [index, pending] of this.proposals) {
      if (index > snapshotIndex) continue;
      this.proposals.delete(index);
      pending.reject(new KvTimeoutError(`this member lost leadership and installed a snapshot past the write at index ${index}: its outcome is unknown; retry`));
    }
  }

  /** Requests stuck past their deadline fail with a timeout (the core may still apply a write). */
  expire(timeoutMs: number): void {
    const deadline = this.clock() - timeoutMs;
    for (const [index, pending] of this.proposals) {
      if (pending.proposedAtMs < deadline) {
        this.proposals.delete(index);
        pending.reject(new KvTimeoutError(`the write at index ${index} was not committed within ${timeoutMs} ms; it may still be applied`));
      }
    }
    for (const [id, read] of this.reads) {
      if (read.startedAtMs < deadline) {
        this.reads.delete(id);
        read.reject(new KvTimeoutError(`the read was not confirmed by a leader within ${timeoutMs} ms`));
      }
    }
  }

  /** Fails every proposal, read and waiter of waitApplied (the member is stopping). */
  failAll(error: Error): void {
    for (const pending of this.proposals.values()) pending.reject(error);
    for (const read of this.reads.values()) read.reject(error);
    for (const waiting of this.readsAwaitingApply) waiting.read.reject(error);
    for (const waiter of this.appliedWaiters) waiter.reject(error);
    this.proposals.clear();
    this.reads.clear();
    this.readsAwaitingApply = [];
    this.appliedWaiters.length = 0;
  }
}
