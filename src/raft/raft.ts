import type { RaftConfig } from "./config.js";
import { validateRaftConfig } from "./config.js";
import { applyConfChange, confChangeProblem, decodeConfChange, encodeConfChange } from "./conf-change.js";
import { invariant } from "./invariant.js";
import type { LogStorage } from "./log-storage.js";
import type {
  AppendRequest, AppendResponse, Heartbeat, HeartbeatResponse, Message, ReadIndexRequest,
  ReadIndexResponse, SnapshotChunk, SnapshotResponse, VoteRequest,
} from "./messages.js";
import { ENTRY_OVERHEAD_BYTES, entriesBytes } from "./messages.js";
import { Progress } from "./progress.js";
import { isMember, isVoter, majority, members, quorumMatchIndex, voteOutcome } from "./quorum.js";
import type { RandomSource } from "./random.js";
import { RaftLog } from "./raft-log.js";
import type { ConfirmedRead, PendingRead } from "./read-index.js";
import { ReadIndexQueue } from "./read-index.js";
import type {
  ProposalError, ProposalErrorCode, ProposalResult, RaftStatus, ReadState, Ready, Role,
  SnapshotChunkWrite,
} from "./ready.js";
import type { ConfChange, Configuration, Entry, HardState, NodeId, SnapshotMeta } from "./types.js";
import { EntryType, NONE } from "./types.js";

/** Messages a leader may send before its own write of the same batch is durable. */
const SEND_BEFORE_PERSIST = new Set<Message["type"]>(["App", "Heartbeat", "Snap", "TimeoutNow", "ReadIndexResp"]);

/** A message as the node writes it; `send` fills in the sender. */
type Outgoing = Message extends infer M ? (M extends Message ? Omit<M, "from"> : never) : never;

/** Committed entries handed to the application in one Ready. */
const COMMITTED_ENTRIES_BYTES_MAX = 64 * 1024 * 1024;

interface PendingConfChange {
  readonly index: number;
  readonly term: number;
  readonly change: ConfChange;
}

interface IncomingSnapshot {
  readonly term: number;
  readonly leader: NodeId;
  readonly transferId: number;
  readonly meta: SnapshotMeta;
  received: number;
}

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
 */
export class RaftNode {
  readonly id: NodeId;
  private readonly cfg: RaftConfig;
  private readonly log: RaftLog;
  private role: Role = "follower";
  private term: number;
  private vote: NodeId;
  private leader: NodeId = NONE;
  private nonVoting: boolean;
  private config: Configuration;
  private pendingConfChanges: PendingConfChange[] = [];
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTicks = 0;
  private votes = new Map<NodeId, boolean>();
  private progress = new Map<NodeId, Progress>();
  private nextSession = 1;
  private leadTransferee: NodeId = NONE;
  private transferElapsed = 0;
  /** Follower that may have lost entries: the leader's barrier index for it, this term. */
  private votingBarrier = 0;
  /** Follower: the highest index known to match the current leader's log this term. */
  private matchedThisTerm = 0;
  private incoming: IncomingSnapshot | undefined;
  private readonly readQueue: ReadIndexQueue;
  private readsBeforeTermCommit: PendingRead[] = [];
  private uncommitted: { index: number; bytes: number }[] = [];
  private uncommittedBytes = 0;
  private broadcastPending = false;
  // Output accumulated for the next Ready.
  private messages: Message[] = [];
  private messagesAfterPersist: Message[] = [];
  private readStates: ReadState[] = [];
  private snapshotChunks: SnapshotChunkWrite[] = [];
  private snapshotHandedOut: SnapshotMeta | undefined;
  private handedOutHardState: HardState;
  private persistedHardState: HardState;
  private readyInFlight: Ready | undefined;

  constructor(config: RaftConfig, storage: LogStorage, private readonly random: RandomSource, options: RaftNodeOptions = {}) {
    this.cfg = validateRaftConfig(config);
    this.id = config.id;
    const hardState = storage.hardState();
    this.term = hardState.term;
    this.vote = hardState.vote;
    this.nonVoting = hardState.nonVoting || options.startNonVoting === true;
    this.handedOutHardState = hardState;
    this.persistedHardState = hardState;
    this.log = new RaftLog(storage);
    this.readQueue = new ReadIndexQueue(config.pendingReadsMax);
    this.config = storage.snapshotMeta().config;
    this.recoverConfiguration(storage);
    this.becomeFollower(this.term, NONE);
  }

  /** Rebuilds the configuration from the snapshot plus committed change entries. */
  private recoverConfiguration(storage: LogStorage): void {
    const last = storage.lastIndex();
    for (let lo = storage.firstIndex(); lo <= last;) {
      const batch = storage.entries(lo, last + 1, 4 * 1024 * 1024);
      invariant(batch.length > 0, () => `storage: entries(${lo}, ${last + 1}) returned at least one entry`);
      this.trackConfChanges(batch, true);
      lo = (batch[batch.length - 1] as Entry).index + 1;
    }
    this.applyCommittedConfChanges();
  }

  // ---------------------------------------------------------------- inputs

  tick(): void {
    if (this.role === "leader") this.tickLeader();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTicks) {
      this.electionElapsed = 0;
      this.campaign(this.cfg.preVote ? "pre-vote" : "election", false);
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    for (const pr of this.progress.values()) if (pr.id !== this.id) pr.ticksSinceHeard++;
    this.electionElapsed++;
    if (this.leadTransferee !== NONE && ++this.transferElapsed >= this.cfg.electionTicks) {
      this.leadTransferee = NONE; // The target did not take over in time: serve again.
      if (!isVoter(this.config, this.id)) {
        this.becomeFollower(this.term, NONE);
        return;
      }
    }
    if (this.electionElapsed >= this.cfg.electionTicks) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum) {
        if (!this.quorumActive()) {
          this.becomeFollower(this.term, NONE);
          return;
        }
        for (const pr of this.progress.values()) if (pr.id !== this.id) pr.recentActive = false;
      }
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat();
    }
  }

  step(m: Message): void {
    invariant(m.to === this.id, () => `step: message to ${m.to} delivered to node ${this.id}`);
    if (m.term > this.term) {
      if (m.type === "PreVote" || m.type === "Vote") {
        const inLease = this.cfg.checkQuorum && this.leader !== NONE && this.electionElapsed < this.cfg.electionTicks;
        if (inLease && !m.transfer) return; // A live leader is known: do not let a stray candidate disrupt it.
      }
      if (m.type === "PreVote" || (m.type === "PreVoteResp" && !m.reject)) {
        // A pre-vote never changes terms: the term in it is the one the sender would use.
      } else {
        const fromLeader = m.type === "App" || m.type === "Heartbeat" || m.type === "Snap";
        this.becomeFollower(m.term, fromLeader ? m.from : NONE);
      }
    } else if (m.term < this.term) {
      if ((this.cfg.checkQuorum || this.cfg.preVote) && (m.type === "App" || m.type === "Heartbeat")) {
        // A leader of an older term: tell it our term so it steps down. Without this, a
        // node whose term rose while partitioned could never rejoin (its votes are
        // ignored under the lease and it ignores the old leader).
        this.send({ type: "AppResp", to: m.from, term: this.term, session: 0, reject: true, index: 0, hintIndex: 0, hintTerm: 0, nonVoting: this.nonVoting });
      } else if (m.type === "PreVote") {
        this.send({ type: "PreVoteResp", to: m.from, term: this.term, reject: true, ...this.commitHint() });
      }
      return;
    }
    if (m.type === "PreVoteResp" || m.type === "VoteResp") this.learnCommit(m.commitIndex, m.commitTerm);
    switch (m.type) {
      case "PreVote":
      case "Vote":
        this.handleVoteRequest(m);
        return;
      case "TimeoutNow":
        if (this.promotable()) this.campaign("election", true);
        return;
      default:
        break;
    }
    if (this.role === "leader") this.stepLeader(m);
    else if (this.role === "follower") this.stepFollower(m);
    else this.stepCandidate(m);
  }

  // ---------------------------------------------------------------- elections

  private promotable(): boolean {
    return isVoter(this.config, this.id) && !this.nonVoting;
  }

  private campaign(kind: "pre-vote" | "election", transfer: boolean): void {
    if (!this.promotable()) return;
    if (kind === "pre-vote") this.becomePreCandidate();
    else this.becomeCandidate();
    this.votes.set(this.id, true);
    if (voteOutcome(this.config.voters, this.votes) === "won") {
      if (kind === "pre-vote") this.campaign("election", transfer);
      else this.becomeLeader();
      return;
    }
    const term = kind === "pre-vote" ? this.term + 1 : this.term;
    const type = kind === "pre-vote" ? "PreVote" : "Vote";
    for (const id of this.config.voters) {
      if (id === this.id) continue;
      this.send({ type, to: id, term, lastIndex: this.log.lastIndex(), lastTerm: this.log.lastTerm(), transfer });
    }
  }

  private handleVoteRequest(m: VoteRequest): void {
    const canVote = this.vote === m.from
      || (this.vote === NONE && this.leader === NONE)
      || (m.type === "PreVote" && m.term > this.term);
    const upToDate = this.cfg.testOnlyPlant === "vote-without-log-check" || this.log.isUpToDate(m.lastIndex, m.lastTerm);
    const responseType = m.type === "PreVote" ? "PreVoteResp" : "VoteResp";
    if (canVote && upToDate && !this.nonVoting) {
      this.send({ type: responseType, to: m.from, term: m.term, reject: false, ...this.commitHint() });
      if (m.type === "Vote") {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: responseType, to: m.from, term: this.term, reject: true, ...this.commitHint() });
    }
  }

  private commitHint(): { commitIndex: number; commitTerm: number } {
    return { commitIndex: this.log.committed, commitTerm: this.log.term(this.log.committed) ?? 0 };
  }

  /** Another node says (index, term) is committed: if our log holds that entry, so is our prefix. */
  private learnCommit(index: number, term: number): void {
    // A leader learns commitment only by counting its own quorum (§5.4.2).
    if (this.role !== "leader" && index > this.log.committed && index <= this.log.lastIndex() && this.log.matchTerm(index, term)) {
      this.commitTo(index);
    }
  }

  private stepCandidate(m: Message): void {
    const expected = this.role === "pre-candidate" ? "PreVoteResp" : "VoteResp";
    switch (m.type) {
      case "App":
      case "Heartbeat":
      case "Snap":
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        return;
      case "PreVoteResp":
      case "VoteResp": {
        if (m.type !== expected) return;
        this.votes.set(m.from, !m.reject);
        const outcome = voteOutcome(this.config.voters, this.votes);
        if (outcome === "won") {
          if (this.role === "pre-candidate") this.campaign("election", false);
          else this.becomeLeader();
        } else if (outcome === "lost") {
          this.becomeFollower(this.term, NONE);
        }
        return;
      }
      case "ReadIndex":
        this.rejectRemoteReads(m);
        return;
      default:
        return;
    }
  }

  // ---------------------------------------------------------------- role changes

  private resetTerm(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTicks = this.cfg.electionTicks + this.random.int(this.cfg.electionTicks);
    this.votes.clear();
    this.leadTransferee = NONE;
    this.progress.clear();
    this.matchedThisTerm = 0;
    this.votingBarrier = 0;
    this.failPendingReads("not-leader");
    this.uncommitted = [];
    this.uncommittedBytes = 0;
    this.broadcastPending = false;
  }

  private becomeFollower(term: number, leader: NodeId): void {
    this.resetTerm(term);
    this.role = "follower";
    this.leader = leader;
  }

  private becomePreCandidate(): void {
    // Not resetTerm: a pre-vote changes neither the term nor the vote.
    this.role = "pre-candidate";
    this.leader = NONE;
    this.votes.clear();
    this.failPendingReads("no-leader");
  }

  private becomeCandidate(): void {
    this.resetTerm(this.term + 1);
    this.vote = this.id;
    this.role = "candidate";
    this.leader = NONE;
  }

  private becomeLeader(): void {
    invariant(this.role === "candidate", () => `become leader: node ${this.id} is a candidate, not ${this.role}`);
    this.role = "leader";
    this.leader = this.id;
    for (const id of members(this.config)) this.addProgress(id);
    // The no-op of Raft §8: until an entry of this term commits, the leader cannot
    // know which earlier entries are committed, so it serves no reads before then.
    this.appendEntries([{ type: EntryType.Noop, data: new Uint8Array(0) }]);
    this.broadcastPending = true;
  }

  private addProgress(id: NodeId): void {
    const pr = new Progress(id, this.log.lastIndex() + 1, this.nextSession++);
    if (id === this.id) {
      pr.match = this.log.stableLastIndex();
      pr.recentActive = true;
      pr.state = "replicate";
    }
    this.progress.set(id, pr);
  }

  private newSession(): number {
    return this.nextSession++;
  }

  // ---------------------------------------------------------------- leader

  private stepLeader(m: Message): void {
    const pr = this.progress.get(m.from);
    switch (m.type) {
      case "AppResp":
        if (pr !== undefined) this.handleAppendResponse(pr, m);
        return;
      case "HeartbeatResp":
        if (pr !== undefined) this.handleHeartbeatResponse(pr, m);
        return;
      case "SnapResp":
        if (pr !== undefined) this.handleSnapshotResponse(pr, m);
        return;
      case "ReadIndex":
        this.handleRemoteReads(m);
        return;
      default:
        return;
    }
  }

  /**
   * A follower says it may have lost entries it acknowledged. Append an entry for it
   * to catch up past: appended now, after the follower restarted, it follows every
   * entry that could have been committed with that follower's lost acknowledgement.
   */
  private noteNonVoting(pr: Progress, nonVoting: boolean): void {
    pr.recentActive = true;
    pr.ticksSinceHeard = 0;
    const becameNonVoting = nonVoting && !pr.nonVoting;
    // A barrier belongs to one episode: once the follower votes again it is spent, so a
    // later loss (say, a second wiped disk) is never cleared by an old barrier.
    if (!nonVoting && pr.nonVoting) pr.votingBarrier = 0;
    pr.nonVoting = nonVoting;
    if (becameNonVoting && isMember(this.config, pr.id)) {
      // What it acknowledged may be lost: forget its match (a stale match would keep
      // the probe above its real log forever) and find its log again by probing.
      pr.match = 0;
      if (pr.state !== "snapshot") {
        pr.becomeProbe(this.newSession());
        pr.next = this.log.lastIndex() + 1;
      }
      pr.votingBarrier = this.appendEntries([{ type: EntryType.Noop, data: new Uint8Array(0) }]);
      this.broadcastPending = true;
    }
  }

  private handleAppendResponse(pr: Progress, m: AppendResponse): void {
    this.noteNonVoting(pr, m.nonVoting);
    if (m.session !== pr.session) return; // A reply to an earlier round of replication.
    if (m.reject) {
      const nextToTry = m.hintTerm > 0
        ? this.log.findConflictByTerm(m.hintIndex, m.hintTerm).index + 1
        : m.hintIndex + 1;
      if (pr.maybeDecrTo(m.index, nextToTry)) {
        if (pr.state === "replicate") {
          pr.becomeProbe(this.newSession());
          pr.next = Math.max(pr.match + 1, Math.min(nextToTry, pr.next));
        }
        this.sendAppend(pr, true);
      }
      return;
    }
    const wasPaused = pr.isPaused(this.cfg.inflightMessagesMax, this.cfg.inflightBytesMax);
    const moved = pr.maybeUpdate(m.index);
    // A probe answered at the match (say, the one sent after a snapshot) found the log.
    if (pr.state === "probe" && m.index >= pr.match) pr.becomeReplicate(pr.session);
    if (moved && this.maybeCommit()) {
      this.broadcastAppend(true);
    } else if (this.sendAppend(pr, wasPaused)) {
      // A follower that was held back gets an append even with nothing new (it may not
      // know the commit yet); then fill its window.
      while (this.sendAppend(pr, false));
    }
    if (pr.id === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.send({ type: "TimeoutNow", to: pr.id, term: this.term });
    }
  }

  private handleHeartbeatResponse(pr: Progress, m: HeartbeatResponse): void {
    this.noteNonVoting(pr, m.nonVoting);
    if (pr.state === "probe") pr.probeSent = false;
    if (pr.state === "snapshot") this.resendStalledSnapshot(pr);
    else if (pr.match < this.log.lastIndex() || m.behind) this.sendAppend(pr, true);
    if (!m.nonVoting && isVoter(this.config, pr.id)) {
      this.deliverConfirmedReads(this.readQueue.acknowledge(pr.id, m.round, (acks) => this.hasVoteQuorum(acks)));
    }
  }

  private hasVoteQuorum(acks: ReadonlySet<NodeId>): boolean {
    let count = 0;
    for (const id of this.config.voters) if (acks.has(id)) count++;
    return count >= majority(this.config.voters.length);
  }

  private quorumActive(): boolean {
    let active = 0;
    for (const id of this.config.voters) {
      const pr = this.progress.get(id);
      if (id === this.id || (pr !== undefined && pr.recentActive && !pr.nonVoting)) active++;
    }
    return active >= majority(this.config.voters.length);
  }

  /** Sends entries from pr.next; returns whether a message was sent. */
  private sendAppend(pr: Progress, allowEmpty: boolean): boolean {
    if (pr.id === this.id) return false;
    if (pr.isPaused(this.cfg.inflightMessagesMax, this.cfg.inflightBytesMax)) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    const entries = this.log.slice(pr.next, this.log.lastIndex() + 1, this.cfg.messageBytesMax, this.cfg.messageEntriesMax);
    if (prevTerm === undefined || entries === undefined) {
      this.startSnapshot(pr); // What the follower needs was compacted away.
      return false;
    }
    if (entries.length === 0 && !allowEmpty && pr.state === "replicate") return false;
    this.send({ type: "App", to: pr.id, term: this.term, prevIndex, prevTerm, entries, commit: this.log.committed, session: pr.session, votingBarrier: pr.votingBarrier });
    const last = entries.length > 0 ? (entries[entries.length - 1] as Entry).index : prevIndex;
    pr.sentEntries(last, entriesBytes(entries), entries.length);
    return entries.length > 0;
  }

  private broadcastAppend(allowEmpty: boolean): void {
    for (const pr of this.progress.values()) {
      if (pr.id === this.id) continue;
      let sent = this.sendAppend(pr, allowEmpty);
      while (sent) sent = this.sendAppend(pr, false);
    }
  }

  private broadcastHeartbeat(): void {
    const round = this.readQueue.latestRoundId();
    for (const pr of this.progress.values()) {
      if (pr.id === this.id) continue;
      this.send({ type: "Heartbeat", to: pr.id, term: this.term, commit: this.log.committed, round });
      if (pr.state === "snapshot" && pr.snapshotTransfer !== undefined) pr.snapshotTransfer.sent = false;
    }
  }

  /** Commits the highest index a quorum has durably matched, if it is of this term. */
  private maybeCommit(): boolean {
    const index = quorumMatchIndex(this.config.voters, (id) => {
      const pr = this.progress.get(id);
      if (pr === undefined || (pr.nonVoting && id !== this.id)) return 0;
      return pr.match;
    });
    if (index <= this.log.committed) return false;
    // Raft §5.4.2 (figure 8): an entry of an earlier term is never committed by counting
    // its replicas; it commits only under an entry of the leader's own term.
    if (this.log.term(index) !== this.term && this.cfg.testOnlyPlant !== "commit-previous-term") return false;
    this.commitTo(index);
    return true;
  }

  private commitTo(index: number): void {
    if (!this.log.commitTo(index)) return;
    while (this.uncommitted.length > 0 && (this.uncommitted[0] as { index: number }).index <= index) {
      this.uncommittedBytes -= (this.uncommitted.shift() as { bytes: number }).bytes;
    }
    this.applyCommittedConfChanges();
    if (this.role === "leader" && this.committedInCurrentTerm() && this.readsBeforeTermCommit.length > 0) {
      const waiting = this.readsBeforeTermCommit;
      this.readsBeforeTermCommit = [];
      for (const read of waiting) this.readQueue.enqueue(read);
      this.startReadRound();
    }
    this.maybeRestoreVoting();
  }

  /**
   * A node that may have lost acknowledged entries votes again once it holds, as
   * committed, the barrier entry the leader of this term appended after hearing from
   * it. Every entry committed with its lost acknowledgement precedes that barrier (it
   * existed before the node restarted, the barrier was appended after), so the node
   * now holds them all. A stale leader's barrier never commits, so it cannot clear it.
   */
  private maybeRestoreVoting(): void {
    const barrier = this.votingBarrier;
    if (!this.nonVoting || barrier === 0 || this.log.committed < barrier) return;
    if (barrier > this.log.snapshotIndex() && this.log.term(barrier) !== this.term) return;
    this.nonVoting = false;
  }

  private committedInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  private appendEntries(items: readonly { type: EntryType; data: Uint8Array }[]): number {
    let index = this.log.lastIndex();
    const entries: Entry[] = items.map((item) => ({ term: this.term, index: ++index, type: item.type, data: item.data }));
    this.log.append(entries);
    this.trackConfChanges(entries);
    for (const entry of entries) {
      const bytes = entry.data.length + ENTRY_OVERHEAD_BYTES;
      this.uncommitted.push({ index: entry.index, bytes });
      this.uncommittedBytes += bytes;
    }
    return index;
  }

  // ---------------------------------------------------------------- snapshots (leader side)

  private startSnapshot(pr: Progress): void {
    const meta = this.log.storage.snapshotMeta();
    invariant(meta.index > 0, () => `snapshot: follower ${pr.id} needs entries before ${this.log.firstIndex()} but there is no snapshot`);
    pr.becomeSnapshot(this.newSession(), meta.index, meta.term);
    this.sendSnapshotChunk(pr);
  }

  private sendSnapshotChunk(pr: Progress): void {
    const transfer = pr.snapshotTransfer;
    invariant(transfer !== undefined, () => `snapshot: follower ${pr.id} in snapshot state has a transfer`);
    const meta = this.log.storage.snapshotMeta();
    const data = meta.index === transfer.index && meta.term === transfer.term
      ? this.log.storage.snapshotChunk(meta, transfer.offset, this.cfg.snapshotChunkBytesMax)
      : undefined;
    if (data === undefined) {
      this.startSnapshot(pr); // A newer snapshot replaced the one being sent: start over.
      return;
    }
    const done = transfer.offset + data.length >= meta.sizeBytes;
    this.send({ type: "Snap", to: pr.id, term: this.term, transferId: transfer.id, meta, offset: transfer.offset, data, done });
    transfer.sent = true;
  }

  /** A heartbeat answer proves the follower is reachable: resend a chunk that got lost. */
  private resendStalledSnapshot(pr: Progress): void {
    if (pr.snapshotTransfer !== undefined && !pr.snapshotTransfer.sent) this.sendSnapshotChunk(pr);
  }

  private handleSnapshotResponse(pr: Progress, m: SnapshotResponse): void {
    this.noteNonVoting(pr, m.nonVoting);
    const transfer = pr.snapshotTransfer;
    if (pr.state !== "snapshot" || transfer === undefined || transfer.id !== m.transferId) return;
    if (m.reject) {
      this.startSnapshot(pr);
    } else if (m.done) {
      pr.match = Math.max(pr.match, transfer.index);
      pr.becomeProbe(this.newSession());
      this.sendAppend(pr, true);
    } else {
      transfer.offset = m.nextOffset;
      this.sendSnapshotChunk(pr);
    }
  }

  // ---------------------------------------------------------------- follower

  private stepFollower(m: Message): void {
    switch (m.type) {
      case "App":
        this.acceptLeader(m.from);
        this.handleAppend(m);
        return;
      case "Heartbeat":
        this.acceptLeader(m.from);
        this.handleHeartbeat(m);
        return;
      case "Snap":
        this.acceptLeader(m.from);
        this.handleSnapshotChunk(m);
        return;
      case "ReadIndex":
        this.rejectRemoteReads(m);
        return;
      case "ReadIndexResp":
        this.handleReadIndexResponse(m);
        return;
      default:
        return;
    }
  }

  private acceptLeader(from: NodeId): void {
    this.electionElapsed = 0;
    if (this.leader !== from) {
      this.leader = from;
      this.matchedThisTerm = 0;
      this.votingBarrier = 0;
    }
  }

  private handleAppend(m: AppendRequest): void {
    if (m.votingBarrier > 0) this.votingBarrier = m.votingBarrier;
    const respond = (fields: Pick<AppendResponse, "reject" | "index" | "hintIndex" | "hintTerm">): void =>
      this.send({ type: "AppResp", to: m.from, term: this.term, session: m.session, nonVoting: this.nonVoting, ...fields });
    if (m.prevIndex < this.log.committed) {
      respond({ reject: false, index: this.log.committed, hintIndex: 0, hintTerm: 0 });
      return;
    }
    const lastNew = this.log.maybeAppend(m.prevIndex, m.prevTerm, m.entries);
    this.withdrawStaleAcks();
    if (lastNew === undefined) {
      const hint = this.log.findConflictByTerm(Math.min(m.prevIndex, this.log.lastIndex()), m.prevTerm);
      respond({ reject: true, index: m.prevIndex, hintIndex: hint.index, hintTerm: hint.term });
      return;
    }
    if (m.entries.length > 0) this.trackConfChanges(m.entries);
    this.matchedThisTerm = Math.max(this.matchedThisTerm, lastNew);
    this.commitTo(Math.min(m.commit, lastNew));
    respond({ reject: false, index: lastNew, hintIndex: 0, hintTerm: 0 });
  }

  /**
   * An acknowledgement waiting for this Ready's write claims entries up to its index
   * are durable. If, before the write, a newer leader's append replaced some of them,
   * the claim would be false by the time it is sent (an old leader could count it and
   * commit an entry that no longer exists here): withdraw such acknowledgements.
   */
  private withdrawStaleAcks(): void {
    const from = this.log.takeTruncation();
    if (from === undefined) return;
    this.messagesAfterPersist = this.messagesAfterPersist.filter((m) => m.type !== "AppResp" || m.reject || m.index < from);
  }

  private handleHeartbeat(m: Heartbeat): void {
    this.commitTo(Math.min(m.commit, this.matchedThisTerm));
    const behind = this.log.committed < m.commit;
    this.send({ type: "HeartbeatResp", to: m.from, term: this.term, round: m.round, behind, nonVoting: this.nonVoting });
  }

  private handleSnapshotChunk(m: SnapshotChunk): void {
    const respond = (fields: Pick<SnapshotResponse, "nextOffset" | "done" | "reject">): void =>
      this.send({ type: "SnapResp", to: m.from, term: this.term, transferId: m.transferId, nonVoting: this.nonVoting, ...fields });
    if (m.offset === 0) {
      if (m.meta.index <= this.log.committed || this.log.matchTerm(m.meta.index, m.meta.term)) {
        // Raft §7: the log already holds the snapshot's last entry; keep what follows.
        if (m.meta.index > this.log.committed) this.commitTo(m.meta.index);
        this.matchedThisTerm = Math.max(this.matchedThisTerm, m.meta.index);
        respond({ nextOffset: m.meta.sizeBytes, done: true, reject: false });
        return;
      }
      this.incoming = { term: m.term, leader: m.from, transferId: m.transferId, meta: m.meta, received: 0 };
    }
    const incoming = this.incoming;
    if (incoming === undefined || incoming.term !== m.term || incoming.leader !== m.from || incoming.transferId !== m.transferId) {
      respond({ nextOffset: 0, done: false, reject: true });
      return;
    }
    if (m.offset !== incoming.received) {
      respond({ nextOffset: incoming.received, done: false, reject: false });
      return;
    }
    this.snapshotChunks.push({ meta: m.meta, transferId: m.transferId, offset: m.offset, data: m.data, done: m.done });
    incoming.received += m.data.length;
    if (m.done) {
      invariant(incoming.received === m.meta.sizeBytes, () =>
        `snapshot: received ${incoming.received} bytes of a snapshot of ${m.meta.sizeBytes}`);
      this.installSnapshot(m.meta);
      this.incoming = undefined;
    }
    respond({ nextOffset: incoming.received, done: m.done, reject: false });
  }

  private installSnapshot(meta: SnapshotMeta): void {
    invariant(meta.index > this.log.committed, () =>
      `snapshot: installing index ${meta.index} at or below commit ${this.log.committed} would lose committed entries`);
    this.log.restoreSnapshot(meta);
    this.withdrawStaleAcks();
    this.config = meta.config;
    this.pendingConfChanges = [];
    this.matchedThisTerm = meta.index;
    this.maybeRestoreVoting();
  }

  // ---------------------------------------------------------------- configuration

  /**
   * Records the change entries among newly appended ones. A pending change is kept
   * only while the log still holds it (same index and term): an append that truncated
   * a suffix took the changes in it away. Recovery passes every entry after the
   * snapshot, committed ones included, so that they are applied to its configuration.
   */
  private trackConfChanges(entries: readonly Entry[], recovering = false): void {
    this.pendingConfChanges = this.pendingConfChanges.filter((p) => this.log.term(p.index) === p.term);
    const last = this.pendingConfChanges[this.pendingConfChanges.length - 1]?.index ?? 0;
    for (const entry of entries) {
      if (entry.type === EntryType.ConfChange && entry.index > last && (recovering || entry.index > this.log.committed)) {
        this.pendingConfChanges.push({ index: entry.index, term: entry.term, change: decodeConfChange(entry.data) });
      }
    }
  }

  private applyCommittedConfChanges(): void {
    while (this.pendingConfChanges.length > 0 && (this.pendingConfChanges[0] as PendingConfChange).index <= this.log.committed) {
      const { change } = this.pendingConfChanges.shift() as PendingConfChange;
      this.config = applyConfChange(this.config, change);
      this.onConfigurationChanged();
    }
  }

  private onConfigurationChanged(): void {
    if (this.role !== "leader") return;
    for (const id of members(this.config)) if (!this.progress.has(id)) this.addProgress(id);
    for (const id of [...this.progress.keys()]) if (!isMember(this.config, id)) this.progress.delete(id);
    if (this.leadTransferee !== NONE && !isVoter(this.config, this.leadTransferee)) this.leadTransferee = NONE;
    if (!isVoter(this.config, this.id) && this.cfg.stepDownOnRemoval) {
      this.handOverAfterRemoval();
      return;
    }
    this.maybeCommit(); // A smaller quorum may commit more.
    this.broadcastPending = true;
  }

  /**
   * This leader's own removal has committed. Its followers may not know yet (they
   * learn the commit index from it), and until they do they count votes under the old
   * configuration, which includes this node, whose log may be longer than theirs: it
   * would reject every candidate and the cluster could stall. So it hands leadership
   * to the most up-to-date voter of the new configuration (which, once elected,
   * commits an entry of its term and so the removal everywhere), and steps down when
   * that target takes over or the transfer times out.
   */
  private handOverAfterRemoval(): void {
    let target: Progress | undefined;
    for (const id of this.config.voters) {
      const pr = this.progress.get(id);
      if (pr !== undefined && !pr.nonVoting && (target === undefined || pr.match > target.match)) target = pr;
    }
    if (target === undefined) {
      this.becomeFollower(this.term, NONE);
      return;
    }
    this.leadTransferee = NONE;
    this.transferLeadership(target.id);
    this.broadcastPending = true;
  }

  // ---------------------------------------------------------------- reads

  /** Asks for a linearizable read; the answer comes as a ReadState in a later Ready. */
  readIndex(requestId: string): void {
    if (this.role === "leader") {
      if (!this.readQueue.hasRoom(1 + this.readsBeforeTermCommit.length)) {
        this.readStates.push({ requestId, error: "busy", leader: this.leader });
        return;
      }
      this.enqueueRead({ requestId, from: this.id });
    } else if (this.leader !== NONE) {
      this.send({ type: "ReadIndex", to: this.leader, term: this.term, requestIds: [requestId] });
    } else {
      this.readStates.push({ requestId, error: "no-leader", leader: NONE });
    }
  }

  private enqueueRead(read: PendingRead): void {
    if (!this.committedInCurrentTerm() && this.cfg.testOnlyPlant !== "read-before-term-commit") {
      this.readsBeforeTermCommit.push(read);
      return;
    }
    this.readQueue.enqueue(read);
    this.startReadRound();
  }

  private startReadRound(): void {
    const round = this.readQueue.maybeStartRound(this.log.committed, this.id);
    if (round === undefined) return;
    if (this.hasVoteQuorum(new Set([this.id]))) {
      this.deliverConfirmedReads(this.readQueue.confirmAll());
    } else {
      this.broadcastHeartbeat();
    }
  }

  private deliverConfirmedReads(confirmed: readonly ConfirmedRead[]): void {
    if (confirmed.length === 0) return;
    for (const { index, reads } of confirmed) {
      const remote = new Map<NodeId, string[]>();
      for (const read of reads) {
        if (read.from === this.id) this.readStates.push({ requestId: read.requestId, index });
        else remote.set(read.from, [...(remote.get(read.from) ?? []), read.requestId]);
      }
      for (const [to, requestIds] of remote) {
        this.send({ type: "ReadIndexResp", to, term: this.term, requestIds, index, reject: false });
      }
    }
    this.startReadRound(); // Reads that arrived during the round form the next batch.
  }

  private handleRemoteReads(m: ReadIndexRequest): void {
    if (!this.readQueue.hasRoom(m.requestIds.length + this.readsBeforeTermCommit.length)) {
      this.rejectRemoteReads(m);
      return;
    }
    for (const requestId of m.requestIds) this.enqueueRead({ requestId, from: m.from });
  }

  private rejectRemoteReads(m: ReadIndexRequest): void {
    this.send({ type: "ReadIndexResp", to: m.from, term: this.term, requestIds: m.requestIds, index: 0, reject: true });
  }

  private handleReadIndexResponse(m: ReadIndexResponse): void {
    for (const requestId of m.requestIds) {
      this.readStates.push(m.reject ? { requestId, error: "not-leader", leader: this.leader } : { requestId, index: m.index });
    }
  }

  private failPendingReads(error: "not-leader" | "no-leader"): void {
    const failed = [...this.readQueue.drain(), ...this.readsBeforeTermCommit];
    this.readsBeforeTermCommit = [];
    for (const read of failed) {
      if (read.from === this.id) this.readStates.push({ requestId: read.requestId, error, leader: NONE });
      else this.send({ type: "ReadIndexResp", to: read.from, term: this.term, requestIds: [read.requestId], index: 0, reject: true });
    }
  }

  // ---------------------------------------------------------------- proposals

  propose(data: Uint8Array): ProposalResult {
    const refused = this.refuseProposal(data.length);
    if (refused !== undefined) return refused;
    const index = this.appendEntries([{ type: EntryType.Normal, data }]);
    this.broadcastPending = true;
    return { ok: true, index, term: this.term };
  }

  proposeConfChange(change: ConfChange): ProposalResult {
    const refused = this.refuseProposal(5);
    if (refused !== undefined) return refused;
    const planted = this.cfg.testOnlyPlant === "concurrent-conf-changes";
    if (!planted && this.pendingConfChanges.length > 0) {
      return this.refusal("conf-change-pending", `configuration change at index ${(this.pendingConfChanges[0] as PendingConfChange).index} is not yet committed: retry when it is`);
    }
    if (!planted && !this.committedInCurrentTerm()) {
      return this.refusal("not-ready", "the leader has not yet committed an entry of its term: retry shortly");
    }
    const base = this.pendingConfChanges.reduce((config, p) => applyConfChange(config, p.change), this.config);
    const problem = confChangeProblem(base, change);
    if (problem !== undefined) return this.refusal("invalid", problem);
    if (change.type === "promote") {
      const match = this.progress.get(change.nodeId)?.match ?? 0;
      const lag = this.log.lastIndex() - match;
      if (lag > this.cfg.promotionLagEntriesMax) {
        return this.refusal("learner-behind", `learner ${change.nodeId} is ${lag} entries behind (at most ${this.cfg.promotionLagEntriesMax}): retry when it has caught up`);
      }
    }
    const index = this.appendEntries([{ type: EntryType.ConfChange, data: encodeConfChange(change) }]);
    this.broadcastPending = true;
    return { ok: true, index, term: this.term };
  }

  private refuseProposal(bytes: number): ProposalResult | undefined {
    if (this.role !== "leader") return this.refusal("not-leader", `node ${this.id} is not the leader`);
    if (this.leadTransferee !== NONE) return this.refusal("transferring", `leadership is moving to ${this.leadTransferee}: retry on the new leader`);
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + bytes + ENTRY_OVERHEAD_BYTES > this.cfg.uncommittedBytesMax) {
      return this.refusal("busy", `${this.uncommittedBytes} uncommitted bytes reach uncommittedBytesMax ${this.cfg.uncommittedBytesMax}: retry later`);
    }
    return undefined;
  }

  private refusal(code: ProposalErrorCode, message: string): ProposalResult {
    const error: ProposalError = { code, message, leader: this.leader };
    return { ok: false, error };
  }

  transferLeadership(to: NodeId): ProposalResult {
    if (this.role !== "leader") return this.refusal("not-leader", `node ${this.id} is not the leader`);
    if (to === this.id) return { ok: true, index: this.log.lastIndex(), term: this.term };
    if (!isVoter(this.config, to)) return this.refusal("invalid", `member ${to} is not a voter`);
    if (this.leadTransferee !== to) {
      this.leadTransferee = to;
      this.transferElapsed = 0;
      const pr = this.progress.get(to) as Progress;
      if (pr.match === this.log.lastIndex()) this.send({ type: "TimeoutNow", to, term: this.term });
      else this.sendAppend(pr, true);
    }
    return { ok: true, index: this.log.lastIndex(), term: this.term };
  }

  // ---------------------------------------------------------------- output

  private send(m: Outgoing): void {
    const message = { ...m, from: this.id } as Message;
    const termDurable = this.term === this.persistedHardState.term && this.vote === this.persistedHardState.vote;
    if (this.role === "leader" && termDurable && SEND_BEFORE_PERSIST.has(message.type)) this.messages.push(message);
    else this.messagesAfterPersist.push(message);
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed, nonVoting: this.nonVoting };
  }

  hasReady(): boolean {
    if (this.readyInFlight !== undefined) return false;
    if (this.broadcastPending) return true;
    const hs = this.hardState();
    const prev = this.handedOutHardState;
    return hs.term !== prev.term || hs.vote !== prev.vote || hs.commit !== prev.commit || hs.nonVoting !== prev.nonVoting
      || this.messages.length > 0 || this.messagesAfterPersist.length > 0 || this.readStates.length > 0
      || this.snapshotChunks.length > 0 || this.log.unhandedEntries().length > 0
      || (this.log.snapshotToInstall() !== undefined && this.snapshotHandedOut === undefined)
      || this.log.nextCommittedEntries(1).length > 0;
  }

  ready(): Ready {
    invariant(this.readyInFlight === undefined, () => `ready: node ${this.id} has a Ready not yet advanced`);
    if (this.broadcastPending && this.role === "leader") this.broadcastAppend(false);
    this.broadcastPending = false;
    const hs = this.hardState();
    const prev = this.handedOutHardState;
    const changed = hs.term !== prev.term || hs.vote !== prev.vote || hs.commit !== prev.commit || hs.nonVoting !== prev.nonVoting;
    const pendingSnapshot = this.log.snapshotToInstall();
    const snapshot = pendingSnapshot !== undefined && this.snapshotHandedOut === undefined ? pendingSnapshot : undefined;
    const ready: Ready = {
      hardState: changed ? hs : undefined,
      entries: this.log.unhandedEntries(),
      snapshot,
      snapshotChunks: this.snapshotChunks,
      messages: this.messages,
      messagesAfterPersist: this.messagesAfterPersist,
      committedEntries: this.log.nextCommittedEntries(COMMITTED_ENTRIES_BYTES_MAX),
      readStates: this.readStates,
    };
    if (snapshot !== undefined) this.snapshotHandedOut = snapshot;
    this.log.markHandedOut();
    this.handedOutHardState = hs;
    this.messages = [];
    this.messagesAfterPersist = [];
    this.readStates = [];
    this.snapshotChunks = [];
    this.readyInFlight = ready;
    return ready;
  }

  /** The caller did everything the Ready asked: what it persisted is now durable. */
  advance(ready: Ready): void {
    invariant(this.readyInFlight === ready, () => `advance: node ${this.id} advanced a Ready it did not hand out last`);
    this.readyInFlight = undefined;
    if (ready.hardState !== undefined) this.persistedHardState = ready.hardState;
    const last = ready.entries[ready.entries.length - 1];
    this.log.stableTo(last?.index ?? -1, last?.term ?? -1, ready.snapshot);
    if (ready.snapshot !== undefined && this.snapshotHandedOut === ready.snapshot) this.snapshotHandedOut = undefined;
    const lastApplied = ready.committedEntries[ready.committedEntries.length - 1];
    if (lastApplied !== undefined) this.log.appliedTo(lastApplied.index);
    if (this.role === "leader") {
      // The leader counts itself toward a quorum only for what it has made durable.
      const self = this.progress.get(this.id);
      if (self !== undefined && self.maybeUpdate(this.log.stableLastIndex()) && this.maybeCommit()) {
        this.broadcastPending = true;
      }
    }
  }

  /** Who this node believes leads (NONE when it knows none): cheaper than status() on a per-request path. */
  leaderId(): NodeId {
    return this.leader;
  }

  /** This node's role and term, without building the whole status: read after every Ready. */
  currentRole(): Role {
    return this.role;
  }

  currentTerm(): number {
    return this.term;
  }

  status(): RaftStatus {
    const progress = this.role !== "leader" ? [] : [...this.progress.values()].map((pr) => ({
      id: pr.id, match: pr.match, next: pr.next, state: pr.state, nonVoting: pr.nonVoting,
      recentActive: pr.recentActive, ticksSinceHeard: pr.id === this.id ? 0 : pr.ticksSinceHeard, inflight: pr.inflightCount(),
    }));
    return {
      id: this.id, role: this.role, term: this.term, vote: this.vote, leader: this.leader,
      commit: this.log.committed, applied: this.log.applied, lastIndex: this.log.lastIndex(),
      nonVoting: this.nonVoting, voters: this.config.voters, learners: this.config.learners,
      leadTransferee: this.leadTransferee, progress,
    };
  }

  /** The term of the entry at `index` in this node's log (an observer for checks and status). */
  logTerm(index: number): number | undefined {
    return this.log.term(index);
  }

  /** The first index still in this node's log. */
  logFirstIndex(): number {
    return this.log.firstIndex();
  }

  /** The configuration in effect (committed). */
  configuration(): Configuration {
    return this.config;
  }

  /** Uncommitted configuration changes in the log (at most one, unless planted). */
  pendingConfChangeCount(): number {
    return this.pendingConfChanges.length;
  }
}
