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
}

export function emptyStats(): SimStats {
  return {
    steps: 0, elections: 0, crashes: 0, lossyCrashes: 0, wipes: 0, partitions: 0, membershipChanges: 0,
    leadershipTransfers: 0, snapshotsTaken: 0, snapshotInstalls: 0, snapshotChunksCorrupted: 0, snapshotsRefused: 0, clientOps: 0, messagesSent: 0, messagesDropped: 0,
  };
}

export type { KvInput };
