import type { NodeId } from "../../raft/types.js";
import type { MembershipView } from "../types.js";

/** Votes a configuration of n voters needs to elect a leader or commit. */
export function majority(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/** A learner is promoted once the leader heard it lately and it is at most this many entries behind. */
export const CAUGHT_UP_LAG_MAX = 100;

type Member = MembershipView["members"][number];

/** The membership seen as sets, with the quorum checks each kind of change needs. */
export class Membership {
  readonly voters: readonly Member[];
  readonly learners: readonly Member[];

  constructor(readonly view: MembershipView) {
    this.voters = view.members.filter((m) => m.role === "voter");
    this.learners = view.members.filter((m) => m.role === "learner");
  }

  has(id: NodeId): boolean {
    return this.view.members.some((m) => m.id === id);
  }

  /** A voter that counts toward quorum now: heard lately and not waiting to recover lost data. */
  static countsTowardQuorum(member: Member): boolean {
    return member.healthy && member.nonVoting !== true;
  }

  healthyVoters(except?: NodeId): number {
    return this.voters.filter((m) => m.id !== except && Membership.countsTowardQuorum(m)).length;
  }

  hasQuorum(): boolean {
    return this.healthyVoters() >= majority(this.voters.length);
  }

  /** Removing `id` leaves enough healthy voters for the smaller configuration's quorum. */
  canRemove(id: NodeId): boolean {
    const isVoter = this.voters.some((m) => m.id === id);
    if (!isVoter) return true; // a learner has no vote
    return this.healthyVoters(id) >= majority(this.voters.length - 1);
  }

  /** Promoting a caught-up learner keeps quorum in the larger configuration. */
  canPromote(): boolean {
    return this.healthyVoters() + 1 >= majority(this.voters.length + 1);
  }

  /** Taking a healthy voter down for a moment (a pod restart) keeps quorum. */
  canRestartVoter(id: NodeId): boolean {
    const voter = this.voters.find((m) => m.id === id);
    if (voter === undefined || !Membership.countsTowardQuorum(voter)) return true;
    return this.healthyVoters(id) >= majority(this.voters.length);
  }

  static caughtUp(member: Member): boolean {
    return Membership.countsTowardQuorum(member) && (member.lag ?? Number.POSITIVE_INFINITY) <= CAUGHT_UP_LAG_MAX;
  }

  /** The healthy voter best placed to lead (least behind; lowest id on a tie), among `candidates`. */
  bestSuccessor(candidates: (member: Member) => boolean): Member | undefined {
    const choices = this.voters.filter((m) => m.id !== this.view.leaderId && Membership.countsTowardQuorum(m) && candidates(m));
    choices.sort((a, b) => (a.lag ?? Number.MAX_SAFE_INTEGER) - (b.lag ?? Number.MAX_SAFE_INTEGER) || a.id - b.id);
    return choices[0];
  }
}
