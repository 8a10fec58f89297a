import type { Message } from "./messages.js";
import type { Entry, HardState, NodeId, SnapshotMeta } from "./types.js";

export type Role = "follower" | "pre-candidate" | "candidate" | "leader";

/** The outcome of a read request: an index to serve at once applied past it, or why not. */
export type ReadState =
  | { readonly requestId: string; readonly index: number }
  | { readonly requestId: string; readonly error: "not-leader" | "no-leader" | "busy"; readonly leader: NodeId };

/** A piece of a snapshot being received, to be written durably before it is acknowledged. */
export interface SnapshotChunkWrite {
  readonly meta: SnapshotMeta;
  readonly transferId: number;
  readonly offset: number;
  readonly data: Uint8Array;
  readonly done: boolean;
  /**
   * Set on the last chunk of a snapshot whose data failed its whole-snapshot CRC32C
   * (`meta.checksum`): nothing of it is installed. The host discards what it received of
   * the transfer (this chunk is not written) and reports why; the leader was answered
   * with a rejection and sends the snapshot again, as a new transfer.
   */
  readonly refusal?: string;
}

/**
 * One batch of work the caller must do, in this order:
 * 1. Send `messages` right away (a leader's appends may go out before its own write).
 * 2. Make durable, in one group commit: `snapshotChunks`, `snapshot` (install: the log
 *    becomes empty after its index), `hardState`, then `entries` (an entry at an index
 *    already in the log overwrites it and everything after it).
 * 3. Only then send `messagesAfterPersist` (votes, acknowledgements, anything of a term
 *    not yet durable).
 * 4. If `snapshot` is set, restore the state machine from it; then apply
 *    `committedEntries` in order and serve `readStates` once applied past their index.
 * 5. Call `advance(ready)`.
 * The core may be stepped between `ready()` and `advance()`; the next Ready holds only
 * what happened since.
 */
export interface Ready {
  readonly hardState: HardState | undefined;
  readonly entries: readonly Entry[];
  readonly snapshot: SnapshotMeta | undefined;
  readonly snapshotChunks: readonly SnapshotChunkWrite[];
  readonly messages: readonly Message[];
  readonly messagesAfterPersist: readonly Message[];
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
}

export type ProposalErrorCode =
  | "not-leader"
  | "transferring"
  | "busy"
  | "conf-change-pending"
  | "not-ready"
  | "invalid"
  | "learner-behind";

export interface ProposalError {
  readonly code: ProposalErrorCode;
  readonly message: string;
  /** The leader this node knows of (NONE when it knows none). */
  readonly leader: NodeId;
}

export type ProposalResult =
  | { readonly ok: true; readonly index: number; readonly term: number }
  | { readonly ok: false; readonly error: ProposalError };

export interface ProgressStatus {
  readonly id: NodeId;
  readonly match: number;
  readonly next: number;
  readonly state: "probe" | "replicate" | "snapshot";
  readonly nonVoting: boolean;
  readonly recentActive: boolean;
  /** Leader ticks since the member last answered. */
  readonly ticksSinceHeard: number;
  /** The member has answered this leader at least once. */
  readonly acknowledged: boolean;
  /** The member answered within the last election timeout (membership-rules' "recently"). */
  readonly heardRecently: boolean;
  readonly inflight: number;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId;
  readonly leader: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly nonVoting: boolean;
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly leadTransferee: NodeId;
  /** Leader only: each member's progress. */
  readonly progress: readonly ProgressStatus[];
}
