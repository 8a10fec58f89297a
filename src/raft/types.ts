/**
 * The data the Raft core exchanges with its caller: log entries, the durable hard
 * state, snapshot metadata, configurations and messages. Plain data only, so that
 * every layer (storage codecs, transport codecs, the simulator) can share it.
 */

/** Member ids start at 1; 0 means "none" inside Raft (no vote, no known leader). */
export type NodeId = number;
export const NONE: NodeId = 0;

export enum EntryType {
  /** An application command (a KV operation); its bytes are opaque to Raft. */
  Normal = 0,
  /** The empty entry a new leader appends so that it can commit in its own term. */
  Noop = 1,
  /** A membership change, encoded by `conf-change.ts`. */
  ConfChange = 2,
}

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/**
 * What must be on stable storage before the node acts on it (Raft figure 2, plus
 * the commit index and the non-voting mark of a node that may have lost entries).
 */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
  /**
   * True while this node may have lost entries it acknowledged (an empty disk in an
   * existing cluster, or a truncated tail that failed its checksum). Such a node does
   * not vote and does not count toward quorum until a leader has caught it up.
   */
  readonly nonVoting: boolean;
}

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: NONE, commit: 0, nonVoting: false };

/** Voters decide elections and commitment; learners only receive the log. */
export interface Configuration {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export interface SnapshotMeta {
  /** The last log index the snapshot covers. */
  readonly index: number;
  /** The term of the entry at `index`. */
  readonly term: number;
  /** The configuration in effect at `index`. */
  readonly config: Configuration;
  /** Total size of the snapshot data, in bytes. */
  readonly sizeBytes: number;
  /**
   * CRC32C of the whole snapshot data, set where the snapshot is made and carried with it
   * (storage's file header, the Snap message): a follower installs a received snapshot only
   * if its bytes match. Optional: snapshots and leaders of older builds have none (storage
   * computes it when it checks such a file at start).
   */
  readonly checksum?: number;
}

export const EMPTY_SNAPSHOT_META: SnapshotMeta = {
  index: 0,
  term: 0,
  config: { voters: [], learners: [] },
  sizeBytes: 0,
};

export type ConfChangeType = "add-learner" | "promote" | "remove";

export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
}
