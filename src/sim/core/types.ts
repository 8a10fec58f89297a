import type { KvInput } from "../../lincheck/history.js";

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
  /** What the client library did (its events): connections made, redirects followed, attempts retried, sessions registered and found expired. */
  clientConnections: number;
  clientRedirects: number;
  clientRetries: number;
  sessionsRegistered: number;
  sessionsExpired: number;
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
    leadershipTransfers: 0, snapshotsTaken: 0, snapshotInstalls: 0, snapshotChunksCorrupted: 0, snapshotsRefused: 0, clientOps: 0, clientConnections: 0, clientRedirects: 0, clientRetries: 0, sessionsRegistered: 0, sessionsExpired: 0, messagesSent: 0, messagesDropped: 0,
    pauses: 0, pausedLeadersDeposed: 0, skewedClocks: 0, smallMessageLimits: 0, staleTailAppends: 0,
  };
}

export type { KvInput };
