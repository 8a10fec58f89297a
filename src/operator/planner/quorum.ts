import type { PromotionVerdict } from "../../raft/membership-rules.js";
import { bestSuccessor, promotionVerdict, quorumAfterRemovalProblem } from "../../raft/membership-rules.js";
import { majority } from "../../raft/quorum.js";
import type { NodeId } from "../../raft/types.js";
import type { MembershipView } from "../types.js";

// One majority and one promotion rule for the core, the admin API and the planner.
export { majority } from "../../raft/quorum.js";
export { PROMOTION_COMMIT_LAG_ENTRIES_MAX } from "../../raft/membership-rules.js";

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
    const counts = (voter: NodeId): boolean => this.voters.some((m) => m.id === voter && Membership.countsTowardQuorum(m));
    return quorumAfterRemovalProblem(this.voters.map((m) => m.id), id, counts) === undefined;
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

  /**
   * The shared promotion rule, judged on the leader's view. Without a match index the view
   * has the lag behind the leader's last index, which is at least its commit index, so
   * commitIndex - lag is a lower bound of the match: never optimistic.
   */
  promotionVerdict(member: Member): PromotionVerdict {
    const match = member.matchIndex ?? this.view.commitIndex - (member.lag ?? Number.POSITIVE_INFINITY);
    return promotionVerdict({
      id: member.id, match, acknowledged: member.acknowledged ?? member.healthy, heardRecently: member.healthy, nonVoting: member.nonVoting === true,
    }, this.view.commitIndex);
  }

  caughtUp(member: Member): boolean {
    return this.promotionVerdict(member).ready;
  }

  /** The healthy voter best placed to lead (least behind; lowest id on a tie), among `candidates`. */
  bestSuccessor(candidates: (member: Member) => boolean): Member | undefined {
    const choices = this.voters.filter((m) => m.id !== this.view.leaderId && Membership.countsTowardQuorum(m) && candidates(m));
    // Less lag is a higher match: the same order as the shared rule's.
    const chosen = bestSuccessor(choices.map((m) => ({ id: m.id, match: -(m.lag ?? Number.MAX_SAFE_INTEGER) })));
    return choices.find((m) => m.id === chosen?.id);
  }
}
