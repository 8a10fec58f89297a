import { invariant } from "../assert/invariant.js";
import type { NodeId } from "./types.js";

/**
 * ReadIndex batching on the leader. Reads that arrive while a confirmation round is in
 * flight wait together for the next round, so one heartbeat quorum serves a whole
 * batch. A round records the commit index when it starts; once a quorum has answered a
 * heartbeat sent at or after the round started, the leader knew it was still leader
 * after every read in the round arrived, and each read may be served at that index.
 */
export interface PendingRead {
  readonly requestId: string;
  /** The member that asked: this node for a local read, or a follower that forwarded it. */
  readonly from: NodeId;
}

interface Round {
  readonly id: number;
  readonly commitIndex: number;
  readonly reads: PendingRead[];
  readonly acks: Set<NodeId>;
}

export interface ConfirmedRead {
  readonly index: number;
  readonly reads: readonly PendingRead[];
}

export class ReadIndexQueue {
  private readonly rounds: Round[] = [];
  private batch: PendingRead[] = [];
  private lastRoundId = 0;

  constructor(private readonly pendingReadsMax: number) {}

  /** Reads waiting in rounds or in the next batch. */
  size(): number {
    let total = this.batch.length;
    for (const round of this.rounds) total += round.reads.length;
    return total;
  }

  hasRoom(count: number): boolean {
    return this.size() + count <= this.pendingReadsMax;
  }

  enqueue(read: PendingRead): void {
    invariant(this.size() < this.pendingReadsMax, () =>
      `read index: pending reads ${this.size()} within pendingReadsMax ${this.pendingReadsMax}`);
    this.batch.push(read);
  }

  /** Starts a round for the waiting batch if none is in flight; returns its id. */
  maybeStartRound(commitIndex: number, selfId: NodeId): number | undefined {
    if (this.batch.length === 0 || this.rounds.length > 0) return undefined;
    const round: Round = { id: ++this.lastRoundId, commitIndex, reads: this.batch, acks: new Set([selfId]) };
    this.batch = [];
    this.rounds.push(round);
    return round.id;
  }

  /** The newest round started: heartbeats carry it so that any answer confirms it. */
  latestRoundId(): number {
    return this.lastRoundId;
  }

  /**
   * A heartbeat answer for `roundId` from `from` confirms every round up to that id.
   * Returns the rounds now confirmed by a quorum (and every earlier one), oldest first.
   */
  acknowledge(from: NodeId, roundId: number, hasQuorum: (acks: ReadonlySet<NodeId>) => boolean): ConfirmedRead[] {
    let confirmedUpTo = -1;
    for (let i = 0; i < this.rounds.length; i++) {
      const round = this.rounds[i] as Round;
      if (round.id > roundId) break;
      round.acks.add(from);
      if (hasQuorum(round.acks)) confirmedUpTo = i;
    }
    return this.takeRounds(confirmedUpTo);
  }

  /** A single-voter leader confirms rounds by itself. */
  confirmAll(): ConfirmedRead[] {
    return this.takeRounds(this.rounds.length - 1);
  }

  private takeRounds(upTo: number): ConfirmedRead[] {
    if (upTo < 0) return [];
    return this.rounds.splice(0, upTo + 1).map((round) => ({ index: round.commitIndex, reads: round.reads }));
  }

  /** Leadership lost: every waiting read fails and must be retried by its caller. */
  drain(): PendingRead[] {
    const all = [...this.rounds.flatMap((round) => round.reads), ...this.batch];
    this.rounds.length = 0;
    this.batch = [];
    return all;
  }
}
