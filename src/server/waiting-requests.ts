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
 * reads by the Raft core (pendingReadsMax, refused as "busy"), and every entry expires
 * after the request timeout.
 */
export class WaitingRequests {
  private readonly proposals = new Map<number, PendingProposal>();
  private readonly reads = new Map<string, PendingRead>();
  private readsAwaitingApply: { index: number; read: PendingRead }[] = [];
  private readonly appliedWaiters: { index: number; resolve: () => void }[] = [];
  private nextReadId = 1;

  constructor(
    private readonly clock: () => number,
    private readonly metrics: ReplicaMetrics | undefined,
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

  appliedAtLeast(index: number): Promise<void> {
    return new Promise((resolve) => this.appliedWaiters.push({ index, resolve }));
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
      const waiter = this.appliedWaiters[i] as { index: number; resolve: () => void };
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

  /** Fails every proposal and read (the member is stopping). */
  failAll(error: Error): void {
    for (const pending of this.proposals.values()) pending.reject(error);
    for (const read of this.reads.values()) read.reject(error);
    for (const waiting of this.readsAwaitingApply) waiting.read.reject(error);
    this.proposals.clear();
    this.reads.clear();
    this.readsAwaitingApply = [];
  }
}
