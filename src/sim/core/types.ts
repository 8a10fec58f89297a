import type { KvInput } from "../../lincheck/history.js";
import type { NodeId } from "../../raft/types.js";
import type { ApplyOutcome, SessionStamp, WriteInput } from "./state-machine.js";

export type ClientOp =
  | { readonly kind: "register" }
  | { readonly kind: "probe" }
  | { readonly kind: "write"; readonly session: SessionStamp; readonly input: WriteInput }
  | { readonly kind: "read"; readonly key: string }
  /** A put with a time to live, on keys outside the linearizability check (expiry is judged by log stamps). */
  | { readonly kind: "expiring-put"; readonly session: SessionStamp; readonly key: string; readonly value: string; readonly ttlMs: number };

export interface ClientRequest {
  readonly clientId: number;
  readonly requestId: string;
  readonly op: ClientOp;
}

export type ClientReply =
  | { readonly ok: true; readonly outcome: ApplyOutcome }
  | { readonly ok: false; readonly error: string; readonly leader: NodeId };

/** Counters of what one run did; a default-schedule seed must have each fault kind. */
export interface SimStats {
  steps: number;
  elections: number;
  crashes: number;
  lossyCrashes: number;
  wipes: number;
  partitions: number;
  membershipChanges: number;
  leadershipTransfers: number;
  snapshotsTaken: number;
  snapshotInstalls: number;
  /** Snapshot chunks the network corrupted (one bit flipped), and snapshots refused for their checksum. */
  snapshotChunksCorrupted: number;
  snapshotsRefused: number;
  clientOps: number;
  messagesSent: number;
  messagesDropped: number;
  /** Members paused past an election timeout, and paused leaders that resumed deposed. */
  pauses: number;
  pausedLeadersDeposed: number;
  /** Members whose clock ticks at least twice or at most half the nominal rate. */
  skewedClocks: number;
  /** Runs with small message limits (1 or 0 per seed). */
  smallMessageLimits: number;
  /** Appends that ended inside the receiver's stale tail from an older term (situations.ts). */
  staleTailAppends: number;
}

export function emptyStats(): SimStats {
  return {
    steps: 0, elections: 0, crashes: 0, lossyCrashes: 0, wipes: 0, partitions: 0, membershipChanges: 0,
    leadershipTransfers: 0, snapshotsTaken: 0, snapshotInstalls: 0, snapshotChunksCorrupted: 0, snapshotsRefused: 0, clientOps: 0, messagesSent: 0, messagesDropped: 0,
    pauses: 0, pausedLeadersDeposed: 0, skewedClocks: 0, smallMessageLimits: 0, staleTailAppends: 0,
  };
}

export type { KvInput };
