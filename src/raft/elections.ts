import { commitTo } from "./commit.js";
import { invariant } from "../assert/invariant.js";
import { leaseTick } from "./lease-plant.js";
import type { Message, VoteRequest } from "./messages.js";
import type { NodeState } from "./node-state.js";
import { promotable, send } from "./node-state.js";
import { isVoter, majority, members, voteOutcome } from "./quorum.js";
import { failPendingReads, rejectRemoteReads } from "./reads.js";
import { addProgress, appendEntries, broadcastHeartbeat } from "./replication.js";
import { stepFollower } from "./follower.js";
import type { NodeId } from "./types.js";
import { EntryType, NONE } from "./types.js";

/**
 * Elections: terms, pre-vote and vote, check-quorum and its leader lease, and the role
 * changes between follower, pre-candidate, candidate and leader.
 */

/**
 * Brings a message's term and ours together before it is handled; returns whether the
 * message is still to be handled.
 */
export function observeTerm(n: NodeState, m: Message): boolean {
  if (m.term > n.term) {
    if (m.type === "PreVote" || m.type === "Vote") {
      const inLease = n.cfg.checkQuorum && n.leader !== NONE && n.electionElapsed < n.cfg.electionTicks;
      if (inLease && !m.transfer) return false; // A live leader is known: do not let a stray candidate disrupt it.
    }
    if (m.type === "PreVote" || (m.type === "PreVoteResp" && !m.reject)) {
      // A pre-vote never changes terms: the term in it is the one the sender would use.
    } else {
      const fromLeader = m.type === "App" || m.type === "Heartbeat" || m.type === "Snap";
      becomeFollower(n, m.term, fromLeader ? m.from : NONE);
    }
  } else if (m.term < n.term) {
    if ((n.cfg.checkQuorum || n.cfg.preVote) && (m.type === "App" || m.type === "Heartbeat")) {
      // A leader of an older term: tell it our term so it steps down. Without this, a
      // node whose term rose while partitioned could never rejoin (its votes are
      // ignored under the lease and it ignores the old leader).
      send(n, { type: "AppResp", to: m.from, term: n.term, session: 0, reject: true, index: 0, hintIndex: 0, hintTerm: 0, nonVoting: n.nonVoting });
    } else if (m.type === "PreVote") {
      send(n, { type: "PreVoteResp", to: m.from, term: n.term, reject: true, ...commitHint(n) });
    }
    return false;
  }
  return true;
}

/**
 * The host lost its connection to `peerId` (the process behind it closed its sockets:
 * killed, or its pod deleted). If that is the leader this follower follows, the leader
 * may be dead: its lease ends now, so this member grants (pre-)votes at once, and it
 * campaigns after the random part of its election timeout instead of all of it. Only
 * timing changes, never safety; a leader that is alive reconnects and its next
 * heartbeat restarts the timer before the campaign in most cases, and pre-vote keeps a
 * campaign that does start from raising the term while the others still hear it.
 */
export function leaderConnectionLost(n: NodeState, peerId: NodeId): void {
  if (n.role !== "follower" || peerId === NONE || n.leader !== peerId) return;
  n.electionElapsed = Math.max(n.electionElapsed, n.cfg.electionTicks);
}

export function tickElection(n: NodeState): void {
  n.electionElapsed++;
  if (promotable(n) && n.electionElapsed >= n.election.randomizedElectionTicks) {
    n.electionElapsed = 0;
    campaign(n, n.cfg.preVote ? "pre-vote" : "election", false);
  }
}

export function tickLeader(n: NodeState): void {
  const election = n.election;
  election.heartbeatElapsed++;
  leaseTick(n);
  for (const pr of n.leading.progress.values()) if (pr.id !== n.id) pr.ticksSinceHeard++;
  n.electionElapsed++;
  if (election.leadTransferee !== NONE && ++election.transferElapsed >= n.cfg.electionTicks) {
    election.leadTransferee = NONE; // The target did not take over in time: serve again.
    if (!isVoter(n.config, n.id)) {
      becomeFollower(n, n.term, NONE);
      return;
    }
  }
  if (n.electionElapsed >= n.cfg.electionTicks) {
    n.electionElapsed = 0;
    if (n.cfg.checkQuorum) {
      if (!quorumActive(n)) {
        becomeFollower(n, n.term, NONE);
        return;
      }
      for (const pr of n.leading.progress.values()) if (pr.id !== n.id) pr.recentActive = false;
    }
  }
  if (election.heartbeatElapsed >= n.cfg.heartbeatTicks) {
    election.heartbeatElapsed = 0;
    broadcastHeartbeat(n);
  }
}

function quorumActive(n: NodeState): boolean {
  let active = 0;
  for (const id of n.config.voters) {
    const pr = n.leading.progress.get(id);
    if (id === n.id || (pr !== undefined && pr.recentActive && !pr.nonVoting)) active++;
  }
  return active >= majority(n.config.voters.length);
}

export function campaign(n: NodeState, kind: "pre-vote" | "election", transfer: boolean): void {
  if (!promotable(n)) return;
  if (kind === "pre-vote") becomePreCandidate(n);
  else becomeCandidate(n);
  n.election.votes.set(n.id, true);
  if (voteOutcome(n.config.voters, n.election.votes) === "won") {
    if (kind === "pre-vote") campaign(n, "election", transfer);
    else becomeLeader(n);
    return;
  }
  const term = kind === "pre-vote" ? n.term + 1 : n.term;
  const type = kind === "pre-vote" ? "PreVote" : "Vote";
  for (const id of n.config.voters) {
    if (id === n.id) continue;
    send(n, { type, to: id, term, lastIndex: n.log.lastIndex(), lastTerm: n.log.lastTerm(), transfer });
  }
}

export function handleVoteRequest(n: NodeState, m: VoteRequest): void {
  const canVote = n.vote === m.from
    || (n.vote === NONE && n.leader === NONE)
    || (m.type === "PreVote" && m.term > n.term);
  const upToDate = n.cfg.testOnlyPlant === "vote-without-log-check" || n.log.isUpToDate(m.lastIndex, m.lastTerm);
  const responseType = m.type === "PreVote" ? "PreVoteResp" : "VoteResp";
  if (canVote && upToDate && !n.nonVoting) {
    send(n, { type: responseType, to: m.from, term: m.term, reject: false, ...commitHint(n) });
    if (m.type === "Vote") {
      n.electionElapsed = 0;
      n.vote = m.from;
    }
  } else {
    send(n, { type: responseType, to: m.from, term: n.term, reject: true, ...commitHint(n) });
  }
}

function commitHint(n: NodeState): { commitIndex: number; commitTerm: number } {
  return { commitIndex: n.log.committed, commitTerm: n.log.term(n.log.committed) ?? 0 };
}

/** Another node says (index, term) is committed: if our log holds that entry, so is our prefix. */
export function learnCommit(n: NodeState, index: number, term: number): void {
  // A leader learns commitment only by counting its own quorum (§5.4.2).
  if (n.role !== "leader" && index > n.log.committed && index <= n.log.lastIndex() && n.log.matchTerm(index, term)) {
    commitTo(n, index);
  }
}

export function stepCandidate(n: NodeState, m: Message, snapshotRefusal?: string): void {
  const expected = n.role === "pre-candidate" ? "PreVoteResp" : "VoteResp";
  switch (m.type) {
    case "App":
    case "Heartbeat":
    case "Snap":
      becomeFollower(n, m.term, m.from);
      stepFollower(n, m, snapshotRefusal);
      return;
    case "PreVoteResp":
    case "VoteResp": {
      if (m.type !== expected) return;
      n.election.votes.set(m.from, !m.reject);
      const outcome = voteOutcome(n.config.voters, n.election.votes);
      if (outcome === "won") {
        if (n.role === "pre-candidate") campaign(n, "election", false);
        else becomeLeader(n);
      } else if (outcome === "lost") {
        becomeFollower(n, n.term, NONE);
      }
      return;
    }
    case "ReadIndex":
      rejectRemoteReads(n, m);
      return;
    default:
      return;
  }
}

// ---------------------------------------------------------------- role changes

function resetTerm(n: NodeState, term: number): void {
  if (n.term !== term) {
    n.term = term;
    n.vote = NONE;
  }
  n.electionElapsed = 0;
  n.election.heartbeatElapsed = 0;
  n.election.randomizedElectionTicks = n.cfg.electionTicks + n.random.int(n.cfg.electionTicks);
  n.election.votes.clear();
  n.election.leadTransferee = NONE;
  n.leading.progress.clear();
  n.following.matchedThisTerm = 0;
  n.following.votingBarrier = 0;
  failPendingReads(n, "not-leader");
  n.leading.uncommitted = [];
  n.leading.uncommittedBytes = 0;
  n.leading.broadcastPending = false;
}

export function becomeFollower(n: NodeState, term: number, leader: NodeId): void {
  resetTerm(n, term);
  n.role = "follower";
  n.leader = leader;
}

function becomePreCandidate(n: NodeState): void {
  // Not resetTerm: a pre-vote changes neither the term nor the vote.
  n.role = "pre-candidate";
  n.leader = NONE;
  n.election.votes.clear();
  failPendingReads(n, "no-leader");
}

function becomeCandidate(n: NodeState): void {
  resetTerm(n, n.term + 1);
  n.vote = n.id;
  n.role = "candidate";
  n.leader = NONE;
}

function becomeLeader(n: NodeState): void {
  invariant(n.role === "candidate", () => `become leader: node ${n.id} is a candidate, not ${n.role}`);
  n.role = "leader";
  n.leader = n.id;
  for (const id of members(n.config)) addProgress(n, id);
  // The no-op of Raft §8: until an entry of this term commits, the leader cannot
  // know which earlier entries are committed, so it serves no reads before then.
  appendEntries(n, [{ type: EntryType.Noop, data: new Uint8Array(0) }]);
  n.leading.broadcastPending = true;
}
