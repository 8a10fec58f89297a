import type { Entry, NodeId, SnapshotMeta } from "./types.js";

/**
 * Messages between Raft nodes. Every message carries the sender's term; `term` 0 is
 * never sent on the wire. Responses echo the identifiers (replication session, read
 * round, snapshot transfer) of the request they answer, so that a stale response is
 * recognised and ignored instead of moving progress backwards or forwards wrongly.
 */
interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

export interface VoteRequest extends Envelope {
  readonly type: "PreVote" | "Vote";
  readonly lastIndex: number;
  readonly lastTerm: number;
  /** Sent by a leadership-transfer target: bypasses the receivers' leader lease. */
  readonly transfer: boolean;
}

export interface VoteResponse extends Envelope {
  readonly type: "PreVoteResp" | "VoteResp";
  readonly reject: boolean;
  /**
   * The responder's commit index and the term of its entry there. A candidate whose
   * log holds that same entry holds the same log up to it (log matching), so it may
   * commit that far. This lets candidates learn a commit that the leader that made it
   * never got to tell them (say, a leader that committed its own removal and left),
   * without which they might wait for votes under an outdated configuration.
   */
  readonly commitIndex: number;
  readonly commitTerm: number;
}

export interface AppendRequest extends Envelope {
  readonly type: "App";
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  /** The leader's replication session for this follower (see Progress.session). */
  readonly session: number;
  /**
   * For a follower that says it may have lost acknowledged entries: the index of an
   * entry the leader appended after hearing so (0: none). Once the follower holds it
   * committed, it holds every entry committed before it lost them, and may vote again.
   */
  readonly votingBarrier: number;
}

export interface AppendResponse extends Envelope {
  readonly type: "AppResp";
  readonly session: number;
  readonly reject: boolean;
  /** On success: the follower's durable match index. On reject: the rejected prevIndex. */
  readonly index: number;
  /** On reject: the follower's guess at the last index both logs may share (fast back-off). */
  readonly hintIndex: number;
  /** On reject: the term of the follower's entry at hintIndex. */
  readonly hintTerm: number;
  /** The follower may have lost acknowledged entries: do not count it toward quorum. */
  readonly nonVoting: boolean;
}

export interface Heartbeat extends Envelope {
  readonly type: "Heartbeat";
  readonly commit: number;
  /** The newest ReadIndex confirmation round started before this heartbeat was sent. */
  readonly round: number;
}

export interface HeartbeatResponse extends Envelope {
  readonly type: "HeartbeatResp";
  readonly round: number;
  /** The follower could not advance its commit index to the heartbeat's: resend entries. */
  readonly behind: boolean;
  readonly nonVoting: boolean;
}

export interface SnapshotChunk extends Envelope {
  readonly type: "Snap";
  /** Identifies one transfer: chunks of any other transfer are refused. */
  readonly transferId: number;
  readonly meta: SnapshotMeta;
  readonly offset: number;
  readonly data: Uint8Array;
  readonly done: boolean;
}

export interface SnapshotResponse extends Envelope {
  readonly type: "SnapResp";
  readonly transferId: number;
  /** The next offset the follower expects (all bytes before it are durable). */
  readonly nextOffset: number;
  /** The snapshot is installed (or the follower's log already matched it). */
  readonly done: boolean;
  /** The follower refused the chunk (unknown transfer): start over. */
  readonly reject: boolean;
  readonly nonVoting: boolean;
}

export interface TimeoutNow extends Envelope {
  readonly type: "TimeoutNow";
}

export interface ReadIndexRequest extends Envelope {
  readonly type: "ReadIndex";
  readonly requestIds: readonly string[];
}

export interface ReadIndexResponse extends Envelope {
  readonly type: "ReadIndexResp";
  readonly requestIds: readonly string[];
  readonly index: number;
  readonly reject: boolean;
}

export type Message =
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | Heartbeat
  | HeartbeatResponse
  | SnapshotChunk
  | SnapshotResponse
  | TimeoutNow
  | ReadIndexRequest
  | ReadIndexResponse;

export type MessageType = Message["type"];

/** Approximate wire size of a message, for the byte limits of in-flight windows. */
export function entriesBytes(entries: readonly Entry[]): number {
  let total = 0;
  for (const entry of entries) total += entry.data.length + ENTRY_OVERHEAD_BYTES;
  return total;
}

/** Fixed per-entry cost (term, index, type) counted toward byte limits. */
export const ENTRY_OVERHEAD_BYTES = 24;
