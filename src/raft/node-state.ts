import type { RaftConfig } from "./config.js";
import type { Message } from "./messages.js";
import type { Progress } from "./progress.js";
import { isVoter } from "./quorum.js";
import type { RandomSource } from "./random.js";
import type { RaftLog } from "./raft-log.js";
import type { ReadLease } from "./lease-plant.js";
import { emptyReadLease } from "./lease-plant.js";
import type { PendingRead } from "./read-index.js";
import { ReadIndexQueue } from "./read-index.js";
import type { ProposalErrorCode, ProposalResult, ReadState, Role, SnapshotChunkWrite } from "./ready.js";
import type { ConfChange, Configuration, HardState, NodeId, SnapshotMeta } from "./types.js";
import { NONE } from "./types.js";

/**
 * The state of one Raft node, shared by the modules that each handle one concern of
 * the protocol (elections.ts, transfer.ts, replication.ts, snapshot-sender.ts,
 * commit.ts, follower.ts, membership.ts, proposals.ts, reads.ts). The fields every
 * concern reads (term, role, leader, the log, the configuration) sit at the top
 * level; the rest is grouped by the concern that owns it, and other modules mostly go
 * through the owner's functions. The exceptions: a new term resets every group
 * (elections.ts); a configuration change adds and drops followers' progress and
 * cancels a transfer to a removed voter (membership.ts); and anything that appends or
 * commits on a leader sets `broadcastPending`.
 */
export class NodeState {
  role: Role = "follower";
  term: number;
  vote: NodeId;
  leader: NodeId = NONE;
  nonVoting: boolean;
  /** The configuration in effect: the snapshot's plus the committed change entries. */
  config: Configuration;
  electionElapsed = 0;
  /** The hard state the caller last reported durable (through advance). */
  persistedHardState: HardState;
  readonly election: ElectionState = { heartbeatElapsed: 0, randomizedElectionTicks: 0, votes: new Map(), leadTransferee: NONE, transferElapsed: 0 };
  readonly leading: LeaderState = { progress: new Map(), nextSession: 1, uncommitted: [], uncommittedBytes: 0, broadcastPending: false };
  readonly following: FollowerState = { votingBarrier: 0, matchedThisTerm: 0, incoming: undefined };
  readonly reads: ReadsState;
  readonly membership: MembershipState = { pendingConfChanges: [] };
  readonly out = new Outbox();

  constructor(
    readonly id: NodeId,
    readonly cfg: RaftConfig,
    readonly log: RaftLog,
    readonly random: RandomSource,
    hardState: HardState,
    nonVoting: boolean,
    config: Configuration,
  ) {
    this.term = hardState.term;
    this.vote = hardState.vote;
    this.nonVoting = nonVoting;
    this.persistedHardState = hardState;
    this.config = config;
    this.reads = { queue: new ReadIndexQueue(cfg.pendingReadsMax), beforeTermCommit: [], lease: emptyReadLease() };
  }
}

/** Elections and leadership transfer (elections.ts). */
export interface ElectionState {
  heartbeatElapsed: number;
  randomizedElectionTicks: number;
  votes: Map<NodeId, boolean>;
  leadTransferee: NodeId;
  transferElapsed: number;
}

/** The leader's side of replication (replication.ts, commit.ts). */
export interface LeaderState {
  progress: Map<NodeId, Progress>;
  nextSession: number;
  /** Entries appended but not yet committed, with their size: the bound on proposals. */
  uncommitted: { index: number; bytes: number }[];
  uncommittedBytes: number;
  /** The next Ready broadcasts appends (new entries, a new commit index). */
  broadcastPending: boolean;
}

export interface IncomingSnapshot {
  readonly term: number;
  readonly leader: NodeId;
  readonly transferId: number;
  readonly meta: SnapshotMeta;
  received: number;
  /** CRC32C of the `received` bytes, compared with `meta.checksum` at the last chunk. */
  crc: number;
}

/** The follower's side of appends and snapshots (follower.ts). */
export interface FollowerState {
  /** Follower that may have lost entries: the leader's barrier index for it, this term. */
  votingBarrier: number;
  /** Follower: the highest index known to match the current leader's log this term. */
  matchedThisTerm: number;
  incoming: IncomingSnapshot | undefined;
}

/** ReadIndex reads (reads.ts). */
export interface ReadsState {
  readonly queue: ReadIndexQueue;
  /** Reads that wait for the leader's first commit of its term. */
  beforeTermCommit: PendingRead[];
  /** Only the test-only plant "lease-read-without-quorum" uses it (lease-plant.ts). */
  readonly lease: ReadLease;
}

export interface PendingConfChange {
  readonly index: number;
  readonly term: number;
  readonly change: ConfChange;
}

/** Configuration changes in the log not yet committed (membership.ts). */
export interface MembershipState {
  pendingConfChanges: PendingConfChange[];
}

/** A message as the node writes it; `send` fills in the sender. */
export type Outgoing = Message extends infer M ? (M extends Message ? Omit<M, "from"> : never) : never;

/** Messages a leader may send before its own write of the same batch is durable. */
const SEND_BEFORE_PERSIST = new Set<Message["type"]>(["App", "Heartbeat", "Snap", "TimeoutNow", "ReadIndexResp"]);

/** Output accumulated for the next Ready. */
export class Outbox {
  messages: Message[] = [];
  messagesAfterPersist: Message[] = [];
  readStates: ReadState[] = [];
  snapshotChunks: SnapshotChunkWrite[] = [];

  isEmpty(): boolean {
    return this.messages.length === 0 && this.messagesAfterPersist.length === 0 && this.readStates.length === 0
      && this.snapshotChunks.length === 0;
  }

  /** Drops the acknowledgements, not yet sent, of entries from `index` on. */
  withdrawAcknowledgementsFrom(index: number): void {
    this.messagesAfterPersist = this.messagesAfterPersist.filter((m) => m.type !== "AppResp" || m.reject || m.index < index);
  }

  /** Hands everything accumulated to a Ready and starts afresh. */
  take(): Pick<Outbox, "messages" | "messagesAfterPersist" | "readStates" | "snapshotChunks"> {
    const taken = { messages: this.messages, messagesAfterPersist: this.messagesAfterPersist, readStates: this.readStates, snapshotChunks: this.snapshotChunks };
    this.messages = [];
    this.messagesAfterPersist = [];
    this.readStates = [];
    this.snapshotChunks = [];
    return taken;
  }
}

export function send(n: NodeState, m: Outgoing): void {
  // Every caller passes a fresh literal, so it is stamped rather than copied: a spread of
  // the message union is a megamorphic clone, a few percent of a busy member's CPU.
  (m as { from?: NodeId }).from = n.id;
  const message = m as Message;
  const termDurable = n.term === n.persistedHardState.term && n.vote === n.persistedHardState.vote;
  if (n.role === "leader" && termDurable && SEND_BEFORE_PERSIST.has(message.type)) n.out.messages.push(message);
  else n.out.messagesAfterPersist.push(message);
}

export function promotable(n: NodeState): boolean {
  return isVoter(n.config, n.id) && !n.nonVoting;
}

export function committedInCurrentTerm(n: NodeState): boolean {
  return n.log.term(n.log.committed) === n.term;
}

export function refusal(n: NodeState, code: ProposalErrorCode, message: string): ProposalResult {
  return { ok: false, error: { code, message, leader: n.leader } };
}

export function newSession(n: NodeState): number {
  return n.leading.nextSession++;
}
