import type { NodeId } from "./types.js";

/**
 * Bugs that the simulator can plant inside the core to prove its checks can fail.
 * Only the simulator's `--plant` sets this; production code never does. Plants that
 * can be modelled outside the core (storage, transport) live in the simulator instead.
 */
export type CorePlant =
  | "commit-previous-term"
  | "vote-without-log-check"
  | "read-before-term-commit"
  | "concurrent-conf-changes"
  | "promote-unready-learner";

export interface RaftConfig {
  readonly id: NodeId;
  /** Ticks between heartbeats a leader sends. */
  readonly heartbeatTicks: number;
  /** Base election timeout in ticks; the randomised timeout is in [base, 2*base). */
  readonly electionTicks: number;
  /** Ask peers first whether they would vote, so a partitioned node cannot inflate terms. */
  readonly preVote: boolean;
  /** A leader that has not heard from a quorum for an election timeout steps down. */
  readonly checkQuorum: boolean;
  /** A leader removed from the configuration steps down once the change commits. */
  readonly stepDownOnRemoval: boolean;
  /** Pipelined AppendEntries in flight per follower. */
  readonly inflightMessagesMax: number;
  /** Bytes of entries in flight per follower. */
  readonly inflightBytesMax: number;
  /** Bytes of entries in one AppendEntries message (at least one entry is always sent). */
  readonly messageBytesMax: number;
  /** Entries in one AppendEntries message. */
  readonly messageEntriesMax: number;
  /** Bytes of uncommitted proposals a leader holds before refusing new ones (retryable). */
  readonly uncommittedBytesMax: number;
  /** Bytes of snapshot data in one InstallSnapshot chunk. */
  readonly snapshotChunkBytesMax: number;
  /** Read requests waiting for a confirmation round (or for the first commit of a term). */
  readonly pendingReadsMax: number;
  /** Test-only: a deliberately broken behaviour for the simulator's planted-bug checks. */
  readonly testOnlyPlant?: CorePlant;
}

export function defaultRaftConfig(id: NodeId): RaftConfig {
  return {
    id,
    heartbeatTicks: 1,
    electionTicks: 10,
    preVote: true,
    checkQuorum: true,
    stepDownOnRemoval: true,
    inflightMessagesMax: 256,
    inflightBytesMax: 32 * 1024 * 1024,
    messageBytesMax: 1024 * 1024,
    messageEntriesMax: 4096,
    uncommittedBytesMax: 64 * 1024 * 1024,
    snapshotChunkBytesMax: 1024 * 1024,
    pendingReadsMax: 65536,
  };
}

export class RaftConfigError extends Error {
  override readonly name = "RaftConfigError";
  constructor(readonly field: keyof RaftConfig, message: string) {
    super(`raft config: ${String(field)} ${message}`);
  }
}

/** Rejects out-of-range values with a message naming the field. */
export function validateRaftConfig(config: RaftConfig): RaftConfig {
  const positiveIntegers: (keyof RaftConfig)[] = [
    "id", "heartbeatTicks", "electionTicks", "inflightMessagesMax", "inflightBytesMax",
    "messageBytesMax", "messageEntriesMax", "uncommittedBytesMax", "snapshotChunkBytesMax",
    "pendingReadsMax",
  ];
  for (const field of positiveIntegers) {
    const value = config[field];
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
      throw new RaftConfigError(field, `must be a positive integer, got ${String(value)}`);
    }
  }
  if (config.electionTicks <= config.heartbeatTicks) {
    throw new RaftConfigError("electionTicks", `(${config.electionTicks}) must be greater than heartbeatTicks (${config.heartbeatTicks})`);
  }
  return config;
}
