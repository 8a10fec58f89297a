import type { MemberAddresses, ServerStatus } from "../protocol/status.js";

/**
 * What GET /v1/cluster answers: who leads and who is there. It is a hint for discovery,
 * built from what members last said about themselves; Raft never reads it.
 */
export interface ClusterView {
  readonly clusterId: string;
  readonly leader: LeaderView | null;
  readonly members: readonly MemberView[];
}

export interface LeaderView {
  readonly id: number;
  readonly term: number;
  readonly addresses: MemberAddresses;
}

export type Liveness = "alive" | "unreachable";

/**
 * One member. The Raft fields (role, term, indexes) are null for a member that is in
 * the leader's configuration but has not reported to this coordinator since it started
 * (it is down, or it runs without --coord): it is shown "unreachable" so that a dead
 * voter is visible even right after the coordinator restarts.
 */
export interface MemberView {
  readonly id: number;
  /** The leader's configuration when a leader is known (it decides), else the member's own word. */
  readonly membership: "voter" | "learner" | "none";
  readonly role: ServerStatus["role"] | null;
  readonly term: number | null;
  readonly commitIndex: number | null;
  readonly appliedIndex: number | null;
  /** Entries behind the leader's last index, as the leader last reported; null without a leader. */
  readonly lag: number | null;
  readonly liveness: Liveness;
  readonly lastHeartbeatMsAgo: number | null;
  readonly addresses: MemberAddresses;
}

/** The last accepted report of one member. */
export interface MemberRecord {
  readonly status: ServerStatus;
  readonly lastHeartbeatMs: number;
}

/** Only the advertised addresses: the listen addresses are the member's own business. */
export function advertisedAddresses(status: ServerStatus): MemberAddresses {
  const { peer, client, http, memcached } = status.addresses;
  return {
    ...(peer === undefined ? {} : { peer }),
    ...(client === undefined ? {} : { client }),
    ...(http === undefined ? {} : { http }),
    ...(memcached === undefined ? {} : { memcached }),
  };
}

export function livenessOf(record: MemberRecord, nowMs: number, unreachableAfterMs: number): Liveness {
  return nowMs - record.lastHeartbeatMs <= unreachableAfterMs ? "alive" : "unreachable";
}

/**
 * The leader is the alive member that reports itself leader with the highest term.
 * An old leader that is cut off may keep saying "leader" in its old term; the higher
 * term of the new one wins, whatever order the heartbeats arrive in. Unreachable
 * members are not believed: their word is older than the liveness window.
 */
export function pickLeader(records: ReadonlyMap<number, MemberRecord>, nowMs: number, unreachableAfterMs: number): MemberRecord | undefined {
  let best: MemberRecord | undefined;
  for (const record of records.values()) {
    if (record.status.role !== "leader" || livenessOf(record, nowMs, unreachableAfterMs) !== "alive") continue;
    if (best === undefined || record.status.term > best.status.term) best = record;
  }
  return best;
}

/** Builds the view of one cluster from its members' last reports. */
export function buildClusterView(clusterId: string, records: ReadonlyMap<number, MemberRecord>, nowMs: number, unreachableAfterMs: number): ClusterView {
  const leader = pickLeader(records, nowMs, unreachableAfterMs);
  const configuration = new Map((leader?.status.members ?? []).map((m) => [m.id, m]));
  const ids = [...new Set([...records.keys(), ...configuration.keys()])].sort((a, b) => a - b);
  const members = ids.map((id): MemberView => {
    const record = records.get(id);
    const inConfiguration = configuration.get(id);
    // A leader's configuration lists every voter and learner: a member missing from a
    // non-empty one is not (or no longer) a member, whatever it believes of itself.
    const membership = inConfiguration?.membership ?? (configuration.size > 0 ? "none" : record?.status.membership ?? "none");
    const lag = leader === undefined ? null : id === leader.status.memberId ? 0 : inConfiguration?.lag ?? null;
    if (record === undefined) {
      return {
        id, membership, role: null, term: null, commitIndex: null, appliedIndex: null, lag,
        liveness: "unreachable", lastHeartbeatMsAgo: null, addresses: inConfiguration?.addresses ?? {},
      };
    }
    const { status } = record;
    return {
      id, membership, role: status.role, term: status.term, commitIndex: status.commitIndex, appliedIndex: status.appliedIndex, lag,
      liveness: livenessOf(record, nowMs, unreachableAfterMs),
      lastHeartbeatMsAgo: Math.max(0, nowMs - record.lastHeartbeatMs),
      addresses: advertisedAddresses(status),
    };
  });
  return {
    clusterId,
    leader: leader === undefined ? null : { id: leader.status.memberId, term: leader.status.term, addresses: advertisedAddresses(leader.status) },
    members,
  };
}
