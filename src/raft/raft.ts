import { heardWithinElectionTimeout } from "./membership-rules.js";
import type { RaftConfig } from "./config.js";
import { validateRaftConfig } from "./config.js";
import { maybeCommit } from "./commit.js";
import { becomeFollower, campaign, handleVoteRequest, leaderConnectionLost, learnCommit, observeTerm, stepCandidate, tickElection, tickLeader } from "./elections.js";
import { completesSnapshot, stepFollower } from "./follower.js";
import { invariant } from "../assert/invariant.js";
import { followsNoLiveLeader, messageRefusal } from "./message-checks.js";
import type { LogStorage } from "./log-storage.js";
import { proposeConfChange, recoverConfiguration } from "./membership.js";
import type { Message, SnapshotChunk } from "./messages.js";
import { NodeState, promotable } from "./node-state.js";
import { propose } from "./proposals.js";
import type { RandomSource } from "./random.js";
import { RaftLog } from "./raft-log.js";
import { readIndex } from "./reads.js";
import type { ProposalResult, RaftStatus, Ready, Role } from "./ready.js";
import { broadcastAppend, stepLeader } from "./replication.js";
import { transferLeadership } from "./transfer.js";
import type { ConfChange, Configuration, HardState, NodeId, SnapshotMeta } from "./types.js";
import { NONE } from "./types.js";

/** Committed entries handed to the application in one Ready. */
const COMMITTED_ENTRIES_BYTES_MAX = 64 * 1024 * 1024;

export interface RaftNodeOptions {
  /**
   * Start non-voting even if the hard state does not say so: a member that joins an
   * existing cluster with an empty disk cannot know what it acknowledged before.
   */
  readonly startNonVoting?: boolean;
}

/**
 * A Raft node as a pure state machine (the pattern of etcd's raft library). Drive it
 * with `tick()`, `step(message)`, `propose(...)`, `readIndex(...)`, then repeatedly
 * take `ready()`, do what it says (see Ready), and `advance(ready)`. It owns no
 * sockets, files, timers or clock: the same inputs give the same outputs.
 *
 * This class holds the inputs and the Ready/advance bookkeeping; the protocol lives in
 * one module per concern over the shared NodeState: elections.ts (with check-quorum),
 * transfer.ts, replication.ts and snapshot-sender.ts (the leader's side), follower.ts,
 * commit.ts, membership.ts, proposals.ts and reads.ts (ReadIndex).
 */
export class RaftNode {
  readonly id: NodeId;
  private readonly node: NodeState;
  private snapshotHandedOut: SnapshotMeta | undefined;
  private handedOutHardState: HardState;
  private readyInFlight: Ready | undefined;

  constructor(config: RaftConfig, storage: LogStorage, random: RandomSource, options: RaftNodeOptions = {}) {
    const cfg = validateRaftConfig(config);
    this.id = config.id;
    const hardState = storage.hardState();
    this.handedOutHardState = hardState;
    const log = new RaftLog(storage);
    const nonVoting = hardState.nonVoting || options.startNonVoting === true;
    this.node = new NodeState(config.id, cfg, log, random, hardState, nonVoting, storage.snapshotMeta().config);
    recoverConfiguration(this.node, storage);
    becomeFollower(this.node, this.node.term, NONE);
  }

  // ---------------------------------------------------------------- inputs

  tick(): void {
    if (this.node.role === "leader") tickLeader(this.node);
    else tickElection(this.node);
  }

  /** The host lost its connection to `peerId`: if it leads, stop trusting its lease (elections.ts). */
  connectionLost(peerId: NodeId): void {
    leaderConnectionLost(this.node, peerId);
  }

  /**
   * Why a message from the network must not be stepped, or undefined (message-checks.ts).
   * Callers at the network edge ask this first: `step` trusts its input.
   */
  refusalOf(m: Message): string | undefined {
    return messageRefusal(this.node, m);
  }

  /** No live leader heard (message-checks.ts): a connection from a non-member may be admitted, as it may be that leader. */
  followsNoLiveLeader(): boolean {
    return followsNoLiveLeader(this.node);
  }

  /**
   * Whether stepping `m` now would complete and install its snapshot (follower.ts): the
   * host then checks the snapshot's data before it steps `m`, with a refusal if it must not be.
   */
  completesSnapshot(m: SnapshotChunk): boolean {
    return completesSnapshot(this.node, m);
  }

  /**
   * Steps a message. `snapshotRefusal`, with the last chunk of a snapshot, says why the
   * host will not install that snapshot (its data does not decode): the follower refuses
   * it as it refuses one that fails its checksum (SnapshotChunkWrite.refusal), and the
   * leader sends it again. Ignored where nothing would be installed.
   */
  step(m: Message, snapshotRefusal?: string): void {
    const n = this.node;
    invariant(m.to === this.id, () => `step: message to ${m.to} delivered to node ${this.id}`);
    if (!observeTerm(n, m)) return;
    if (m.type === "PreVoteResp" || m.type === "VoteResp") learnCommit(n, m.commitIndex, m.commitTerm);
    switch (m.type) {
      case "PreVote":
      case "Vote":
        handleVoteRequest(n, m);
        return;
      case "TimeoutNow":
        if (promotable(n)) campaign(n, "election", true);
        return;
      default:
        break;
    }
    if (n.role === "leader") stepLeader(n, m);
    else if (n.role === "follower") stepFollower(n, m, snapshotRefusal);
    else stepCandidate(n, m, snapshotRefusal);
  }

  /** Asks for a linearizable read; the answer comes as a ReadState in a later Ready. */
  readIndex(requestId: string): void {
    readIndex(this.node, requestId);
  }

  propose(data: Uint8Array): ProposalResult {
    return propose(this.node, data);
  }

  proposeConfChange(change: ConfChange): ProposalResult {
    return proposeConfChange(this.node, change);
  }

  transferLeadership(to: NodeId): ProposalResult {
    return transferLeadership(this.node, to);
  }

  // ---------------------------------------------------------------- output

  private hardState(): HardState {
    const n = this.node;
    return { term: n.term, vote: n.vote, commit: n.log.committed, nonVoting: n.nonVoting };
  }

  private hardStateChanged(hs: HardState): boolean {
    const prev = this.handedOutHardState;
    return hs.term !== prev.term || hs.vote !== prev.vote || hs.commit !== prev.commit || hs.nonVoting !== prev.nonVoting;
  }

  hasReady(): boolean {
    if (this.readyInFlight !== undefined) return false;
    const n = this.node;
    if (n.leading.broadcastPending) return true;
    return this.hardStateChanged(this.hardState())
      || !n.out.isEmpty() || n.log.unhandedEntries().length > 0
      || (n.log.snapshotToInstall() !== undefined && this.snapshotHandedOut === undefined)
      || n.log.nextCommittedEntries(1).length > 0;
  }

  ready(): Ready {
    invariant(this.readyInFlight === undefined, () => `ready: node ${this.id} has a Ready not yet advanced`);
    const n = this.node;
    if (n.leading.broadcastPending && n.role === "leader") broadcastAppend(n, false);
    n.leading.broadcastPending = false;
    const hs = this.hardState();
    const changed = this.hardStateChanged(hs);
    const pendingSnapshot = n.log.snapshotToInstall();
    const snapshot = pendingSnapshot !== undefined && this.snapshotHandedOut === undefined ? pendingSnapshot : undefined;
    const out = n.out.take();
    const ready: Ready = {
      hardState: changed ? hs : undefined,
      entries: n.log.unhandedEntries(),
      snapshot,
      snapshotChunks: out.snapshotChunks,
      messages: out.messages,
      messagesAfterPersist: out.messagesAfterPersist,
      committedEntries: n.log.nextCommittedEntries(COMMITTED_ENTRIES_BYTES_MAX),
      readStates: out.readStates,
    };
    if (snapshot !== undefined) this.snapshotHandedOut = snapshot;
    n.log.markHandedOut();
    this.handedOutHardState = hs;
    this.readyInFlight = ready;
    return ready;
  }

  /** The caller did everything the Ready asked: what it persisted is now durable. */
  advance(ready: Ready): void {
    invariant(this.readyInFlight === ready, () => `advance: node ${this.id} advanced a Ready it did not hand out last`);
    const n = this.node;
    this.readyInFlight = undefined;
    if (ready.hardState !== undefined) n.persistedHardState = ready.hardState;
    const last = ready.entries[ready.entries.length - 1];
    n.log.stableTo(last?.index ?? -1, last?.term ?? -1, ready.snapshot);
    if (ready.snapshot !== undefined && this.snapshotHandedOut === ready.snapshot) this.snapshotHandedOut = undefined;
    const lastApplied = ready.committedEntries[ready.committedEntries.length - 1];
    if (lastApplied !== undefined) n.log.appliedTo(lastApplied.index);
    if (n.role === "leader") {
      // The leader counts itself toward a quorum only for what it has made durable.
      const self = n.leading.progress.get(this.id);
      if (self !== undefined && self.maybeUpdate(n.log.stableLastIndex()) && maybeCommit(n)) {
        n.leading.broadcastPending = true;
      }
    }
  }

  // ---------------------------------------------------------------- observers

  /** Who this node believes leads (NONE when it knows none): cheaper than status() on a per-request path. */
  leaderId(): NodeId {
    return this.node.leader;
  }

  /** This node's role and term, without building the whole status: read after every Ready. */
  currentRole(): Role {
    return this.node.role;
  }

  currentTerm(): number {
    return this.node.term;
  }

  /** The highest index known committed (an observer for checks; status() builds much more). */
  commitIndex(): number {
    return this.node.log.committed;
  }

  status(): RaftStatus {
    const n = this.node;
    const progress = n.role !== "leader" ? [] : [...n.leading.progress.values()].map((pr) => ({
      id: pr.id, match: pr.match, next: pr.next, state: pr.state, nonVoting: pr.nonVoting,
      recentActive: pr.recentActive, ticksSinceHeard: pr.id === this.id ? 0 : pr.ticksSinceHeard,
      acknowledged: pr.acknowledged,
      heardRecently: pr.id === this.id || heardWithinElectionTimeout(pr.ticksSinceHeard, n.cfg.electionTicks), inflight: pr.inflightCount(),
    }));
    return {
      id: this.id, role: n.role, term: n.term, vote: n.vote, leader: n.leader,
      commit: n.log.committed, applied: n.log.applied, lastIndex: n.log.lastIndex(),
      nonVoting: n.nonVoting, voters: n.config.voters, learners: n.config.learners,
      leadTransferee: n.election.leadTransferee, progress,
    };
  }

  /** The term of the entry at `index` in this node's log (an observer for checks and status). */
  logTerm(index: number): number | undefined {
    return this.node.log.term(index);
  }

  /** The last index in this node's log, durable or not (an observer for checks and status). */
  logLastIndex(): number {
    return this.node.log.lastIndex();
  }

  /** The first index still in this node's log. */
  logFirstIndex(): number {
    return this.node.log.firstIndex();
  }

  /** The configuration in effect (committed). */
  configuration(): Configuration {
    return this.node.config;
  }

  /** Uncommitted configuration changes in the log (at most one, unless planted). */
  pendingConfChangeCount(): number {
    return this.node.membership.pendingConfChanges.length;
  }
}
