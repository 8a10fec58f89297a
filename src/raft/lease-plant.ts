import type { NodeState } from "./node-state.js";
import { committedInCurrentTerm } from "./node-state.js";
import { NONE } from "./types.js";

/**
 * Test-only: the core plant "lease-read-without-quorum". A leader that had a read round
 * confirmed by a quorum believes it stays leader for half an election timeout after it
 * sent that round's heartbeats, counted in its own ticks, and serves reads in that window
 * without a new round. Followers refuse to vote for a full election timeout after they
 * heard the leader, so the lease holds while every clock ticks within twice the rate of
 * any other and no member stops: it breaks when a leader's clock runs slow or the leader
 * is paused past an election timeout (a GC pause, SIGSTOP). Production never sets it.
 */
export interface ReadLease {
  /** The leader's ticks in its current term (only counted under the plant). */
  ticks: number;
  /** The term the lease belongs to: a lease from an earlier term is void. */
  term: number;
  /** `ticks` when the read round in flight sent its heartbeats. */
  roundStartTick: number;
  /** The lease holds while `ticks` is below this. */
  untilTick: number;
}

export function emptyReadLease(): ReadLease {
  return { ticks: 0, term: 0, roundStartTick: 0, untilTick: 0 };
}

function planted(n: NodeState): boolean {
  return n.cfg.testOnlyPlant === "lease-read-without-quorum";
}

export function leaseTick(n: NodeState): void {
  if (planted(n)) n.reads.lease.ticks++;
}

export function leaseRoundStarted(n: NodeState): void {
  if (planted(n)) n.reads.lease.roundStartTick = n.reads.lease.ticks;
}

export function leaseRoundConfirmed(n: NodeState): void {
  if (!planted(n)) return;
  const lease = n.reads.lease;
  lease.term = n.term;
  lease.untilTick = lease.roundStartTick + Math.floor(n.cfg.electionTicks / 2);
}

/** Whether the planted leader serves a read now, at its commit index, without a round. */
export function servesFromLease(n: NodeState): boolean {
  const lease = n.reads.lease;
  return planted(n) && n.role === "leader" && lease.term === n.term && lease.ticks < lease.untilTick
    && committedInCurrentTerm(n) && n.election.leadTransferee === NONE;
}
