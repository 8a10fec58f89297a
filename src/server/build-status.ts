import type { RaftStatus } from "../raft/ready.js";
import type { NodeId } from "../raft/types.js";
import type { MemberAddresses, MemberStatus, ServerStatus } from "../protocol/status.js";

// How a member fills in the /v1/status contract (../protocol/status.ts) from its Raft core.

/** Answered within the last few heartbeats (check-quorum's flag lags by a whole election timeout). */
export const HEALTHY_TICKS_MAX = 3;

export function isHealthy(p: { nonVoting: boolean; ticksSinceHeard: number }): boolean {
  return !p.nonVoting && p.ticksSinceHeard <= HEALTHY_TICKS_MAX;
}

export interface StatusInputs {
  readonly memberId: NodeId;
  readonly clusterId: string;
  readonly version: string;
  readonly raft: RaftStatus;
  readonly appliedIndex: number;
  readonly advertised: MemberAddresses;
  readonly listen: MemberAddresses;
  readonly directory: (id: NodeId) => MemberAddresses;
  readonly alarms: readonly string[];
}

export function buildStatus(inputs: StatusInputs): ServerStatus {
  const { raft } = inputs;
  const membershipOf = (id: NodeId): "voter" | "learner" | "none" =>
    raft.voters.includes(id) ? "voter" : raft.learners.includes(id) ? "learner" : "none";
  const progress = new Map(raft.progress.map((p) => [p.id, p]));
  const members: MemberStatus[] = [...raft.voters, ...raft.learners].sort((a, b) => a - b).map((id) => {
    const p = progress.get(id);
    const addresses = id === inputs.memberId ? inputs.advertised : inputs.directory(id);
    const base = { id, membership: membershipOf(id) as "voter" | "learner", addresses };
    if (p === undefined) return base;
    return {
      ...base, matchIndex: p.match, lag: Math.max(0, raft.lastIndex - p.match), replication: p.state,
      active: p.ticksSinceHeard <= HEALTHY_TICKS_MAX, nonVoting: p.nonVoting,
    };
  });
  return {
    memberId: inputs.memberId,
    clusterId: inputs.clusterId,
    version: inputs.version,
    role: raft.role,
    membership: membershipOf(inputs.memberId),
    nonVoting: raft.nonVoting,
    term: raft.term,
    leaderId: raft.leader,
    commitIndex: raft.commit,
    appliedIndex: inputs.appliedIndex,
    lastIndex: raft.lastIndex,
    addresses: { ...inputs.advertised, listen: inputs.listen },
    members,
    alarms: inputs.alarms,
  };
}
