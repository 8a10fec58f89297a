import type { Heartbeat } from "../../src/coord/index.js";
import type { MemberStatus, ServerStatus } from "../../src/protocol/status.js";

export const CLUSTER = "c0ffee00-0000-4000-8000-000000000001";

/** A member's status as it would answer /v1/status, with only what a test names changed. */
export function statusOf(id: number, fields: Partial<Omit<ServerStatus, "memberId">> = {}): ServerStatus {
  return {
    memberId: id,
    clusterId: CLUSTER,
    version: "0.1.0",
    role: "follower",
    membership: "voter",
    nonVoting: false,
    term: 1,
    leaderId: 0,
    commitIndex: 1,
    appliedIndex: 1,
    lastIndex: 1,
    addresses: { peer: `127.0.0.1:${7010 + id}`, http: `127.0.0.1:${7020 + id}`, memcached: `127.0.0.1:${7030 + id}`, listen: { http: `0.0.0.0:${7020 + id}` } },
    members: [],
    alarms: [],
    ...fields,
  };
}

export function heartbeatOf(id: number, fields: Partial<Omit<ServerStatus, "memberId">> = {}): Heartbeat {
  const status = statusOf(id, fields);
  return { clusterId: status.clusterId, status };
}

/** The configuration a leader reports: voters and learners with the lag it sees. */
export function configuration(entries: readonly (readonly [id: number, membership: "voter" | "learner", lag: number])[]): MemberStatus[] {
  return entries.map(([id, membership, lag]) => ({ id, membership, addresses: { http: `127.0.0.1:${7020 + id}` }, matchIndex: 10 - lag, lag }));
}
