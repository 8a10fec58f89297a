import { checkBounds, type NumericBounds } from "../assert/bounds.js";
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
  | "promote-unready-learner"
  /** Reads served from a tick-counted lease without a quorum round (lease-plant.ts). */
  | "lease-read-without-quorum"
  /** A follower takes an append that ends within its log as a retransmission (raft-log.ts). */
  | "append-skips-conflict-check"
  /** A leader cuts appends by the entry count only, not by messageBytesMax (replication.ts). */
  | "append-over-byte-limit";

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

const MIB = 1024 * 1024;

/**
 * Inclusive bounds per field. The upper bounds are far past any sane setting; they exist
 * so that a typo (an extra digit of milliseconds turned ticks, bytes for kibibytes) is
 * refused at start instead of stalling elections or exhausting memory later.
 */
const BOUNDS: NumericBounds<RaftConfig> = {
  id: [1, Number.MAX_SAFE_INTEGER],
  heartbeatTicks: [1, 1000],
  electionTicks: [2, 10_000],
  inflightMessagesMax: [1, 65_536],
  inflightBytesMax: [1, 4096 * MIB],
  // The transport's frame holds at most a gibibyte.
  messageBytesMax: [1, 512 * MIB],
  messageEntriesMax: [1, 1_000_000],
  uncommittedBytesMax: [1, 16_384 * MIB],
  snapshotChunkBytesMax: [1, 512 * MIB],
  pendingReadsMax: [1, 10_000_000],
};

/** Rejects out-of-range values with a message naming the field and its unit. */
export function validateRaftConfig(config: RaftConfig): RaftConfig {
  checkBounds(config, BOUNDS, (field, value, problem) => new RaftConfigError(field as keyof RaftConfig, `${problem}, got ${String(value)}`));
  if (config.electionTicks <= config.heartbeatTicks) {
    throw new RaftConfigError("electionTicks", `(${config.electionTicks}) must be greater than heartbeatTicks (${config.heartbeatTicks})`);
  }
  return config;
}
