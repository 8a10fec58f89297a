import type { NodeId } from "../raft/types.js";

/**
 * The one status schema, a wire contract: the server answers it at /v1/status (built by
 * `../server/build-status.ts`) and heartbeats it to the coordinator, the coordinator
 * aggregates it, the CLI prints it and the operator and client library read it. Role
 * (Raft's view) and membership (the configuration's view) are separate fields.
 */
export interface MemberAddresses {
  readonly peer?: string;
  readonly client?: string;
  readonly http?: string;
  readonly memcached?: string;
  /** Present when the admin API has its own port (--admin-port). */
  readonly admin?: string;
}

export interface MemberStatus {
  readonly id: NodeId;
  readonly membership: "voter" | "learner";
  readonly addresses: MemberAddresses;
  /** Leader only: the follower's durable match index, its lag behind the leader, how it is replicated. */
  readonly matchIndex?: number;
  readonly lag?: number;
  readonly replication?: "probe" | "replicate" | "snapshot";
  readonly active?: boolean;
  readonly nonVoting?: boolean;
}

export interface ServerStatus {
  readonly memberId: NodeId;
  readonly clusterId: string;
  readonly version: string;
  readonly role: "leader" | "follower" | "candidate" | "pre-candidate";
  readonly membership: "voter" | "learner" | "none";
  readonly nonVoting: boolean;
  readonly term: number;
  readonly leaderId: NodeId;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  /** This member's own addresses: what it listens on and what it advertises. */
  readonly addresses: MemberAddresses & { readonly listen: MemberAddresses };
  readonly members: readonly MemberStatus[];
  readonly alarms: readonly string[];
}
