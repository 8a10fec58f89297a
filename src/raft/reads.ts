import type { ReadIndexRequest, ReadIndexResponse } from "./messages.js";
import type { NodeState } from "./node-state.js";
import { committedInCurrentTerm, send } from "./node-state.js";
import { leaseRoundConfirmed, leaseRoundStarted, servesFromLease } from "./lease-plant.js";
import { majority } from "./quorum.js";
import type { ConfirmedRead, PendingRead } from "./read-index.js";
import { broadcastHeartbeat } from "./replication.js";
import type { NodeId } from "./types.js";
import { NONE } from "./types.js";

/**
 * ReadIndex reads: a leader confirms it still leads with a heartbeat quorum (batched by
 * ReadIndexQueue) and answers with its commit index; a follower forwards reads to it.
 */

/** Asks for a linearizable read; the answer comes as a ReadState in a later Ready. */
export function readIndex(n: NodeState, requestId: string): void {
  if (n.role === "leader") {
    if (!n.reads.queue.hasRoom(1 + n.reads.beforeTermCommit.length)) {
      n.out.readStates.push({ requestId, error: "busy", leader: n.leader });
      return;
    }
    enqueueRead(n, { requestId, from: n.id });
  } else if (n.leader !== NONE) {
    send(n, { type: "ReadIndex", to: n.leader, term: n.term, requestIds: [requestId] });
  } else {
    n.out.readStates.push({ requestId, error: "no-leader", leader: NONE });
  }
}

function enqueueRead(n: NodeState, read: PendingRead): void {
  if (!committedInCurrentTerm(n) && n.cfg.testOnlyPlant !== "read-before-term-commit") {
    n.reads.beforeTermCommit.push(read);
    return;
  }
  if (servesFromLease(n)) {
    deliverConfirmedReads(n, [{ index: n.log.committed, reads: [read] }]);
    return;
  }
  n.reads.queue.enqueue(read);
  startReadRound(n);
}

/** The leader committed an entry: reads that waited for a commit of its term may start. */
export function releaseReadsAfterTermCommit(n: NodeState): void {
  const reads = n.reads;
  if (n.role === "leader" && committedInCurrentTerm(n) && reads.beforeTermCommit.length > 0) {
    const waiting = reads.beforeTermCommit;
    reads.beforeTermCommit = [];
    for (const read of waiting) reads.queue.enqueue(read);
    startReadRound(n);
  }
}

function startReadRound(n: NodeState): void {
  const round = n.reads.queue.maybeStartRound(n.log.committed, n.id);
  if (round === undefined) return;
  leaseRoundStarted(n);
  if (hasVoteQuorum(n, new Set([n.id]))) {
    deliverConfirmedReads(n, n.reads.queue.confirmAll());
  } else {
    broadcastHeartbeat(n);
  }
}

/** A voter answered the heartbeat of `round`: serve the rounds a quorum has now confirmed. */
export function acknowledgeReads(n: NodeState, from: NodeId, round: number): void {
  deliverConfirmedReads(n, n.reads.queue.acknowledge(from, round, (acks) => hasVoteQuorum(n, acks)));
}

function hasVoteQuorum(n: NodeState, acks: ReadonlySet<NodeId>): boolean {
  let count = 0;
  for (const id of n.config.voters) if (acks.has(id)) count++;
  return count >= majority(n.config.voters.length);
}

function deliverConfirmedReads(n: NodeState, confirmed: readonly ConfirmedRead[]): void {
  if (confirmed.length === 0) return;
  leaseRoundConfirmed(n);
  for (const { index, reads } of confirmed) {
    const remote = new Map<NodeId, string[]>();
    for (const read of reads) {
      if (read.from === n.id) n.out.readStates.push({ requestId: read.requestId, index });
      else remote.set(read.from, [...(remote.get(read.from) ?? []), read.requestId]);
    }
    for (const [to, requestIds] of remote) {
      send(n, { type: "ReadIndexResp", to, term: n.term, requestIds, index, reject: false });
    }
  }
  startReadRound(n); // Reads that arrived during the round form the next batch.
}

export function handleRemoteReads(n: NodeState, m: ReadIndexRequest): void {
  if (!n.reads.queue.hasRoom(m.requestIds.length + n.reads.beforeTermCommit.length)) {
    rejectRemoteReads(n, m);
    return;
  }
  for (const requestId of m.requestIds) enqueueRead(n, { requestId, from: m.from });
}

export function rejectRemoteReads(n: NodeState, m: ReadIndexRequest): void {
  send(n, { type: "ReadIndexResp", to: m.from, term: n.term, requestIds: m.requestIds, index: 0, reject: true });
}

export function handleReadIndexResponse(n: NodeState, m: ReadIndexResponse): void {
  for (const requestId of m.requestIds) {
    n.out.readStates.push(m.reject ? { requestId, error: "not-leader", leader: n.leader } : { requestId, index: m.index });
  }
}

/** Leadership lost or not yet won: every waiting read fails and its caller retries. */
export function failPendingReads(n: NodeState, error: "not-leader" | "no-leader"): void {
  const failed = [...n.reads.queue.drain(), ...n.reads.beforeTermCommit];
  n.reads.beforeTermCommit = [];
  for (const read of failed) {
    if (read.from === n.id) n.out.readStates.push({ requestId: read.requestId, error, leader: NONE });
    else send(n, { type: "ReadIndexResp", to: read.from, term: n.term, requestIds: [read.requestId], index: 0, reject: true });
  }
}
