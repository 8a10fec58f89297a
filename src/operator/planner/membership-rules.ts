import type { PlanStep } from "../types.js";
import { ordinalOfMember } from "../types.js";
import type { PlanContext } from "./context.js";
import { wanted, wantedIds } from "./context.js";

/**
 * The StatefulSet must have a pod for every member (a learner just added included):
 * grow it first. Shrink it only past the last member: remove before shrink.
 */
export function fitStatefulSet(context: PlanContext): PlanStep | undefined {
  const members = context.membership.view.members;
  const podsFor = (list: readonly { id: number }[]): number => Math.max(0, ...list.map((m) => ordinalOfMember(m.id) + 1));
  // A learner that is no longer wanted gets no pod: it is removed instead (finishLearner).
  const needed = podsFor(members.filter((m) => m.role === "voter" || wanted(context, m.id)));
  const replicas = context.statefulSet.replicas;
  if (replicas < needed) {
    return { kind: "ScaleStatefulSet", replicas: needed, reason: `member ${needed} has no pod yet: growing the StatefulSet to ${needed}` };
  }
  const keep = Math.max(podsFor(members), context.target);
  if (replicas > keep) {
    return { kind: "ScaleStatefulSet", replicas: keep, reason: `no member lives on ordinals ${keep}..${replicas - 1} any more: shrinking the StatefulSet to ${keep}` };
  }
  return undefined;
}

/** One learner at a time: it is removed if no longer wanted, else promoted once it has caught up. */
export function finishLearner(context: PlanContext): PlanStep | undefined {
  const learner = context.membership.learners[0];
  if (learner === undefined) return undefined;
  if (!wanted(context, learner.id)) {
    return { kind: "RemoveMember", memberId: learner.id, reason: `learner ${learner.id} is beyond the ${context.target} members asked for` };
  }
  const verdict = context.membership.promotionVerdict(learner);
  if (!verdict.ready) {
    const lag = learner.lag === undefined ? "unknown" : String(learner.lag);
    return { kind: "Wait", reason: `LearnerCatchingUp: learner ${learner.id} is catching up (healthy: ${learner.healthy}, lag: ${lag}): ${verdict.message}` };
  }
  if (!context.membership.canPromote()) {
    return refuse(context, `promoting learner ${learner.id}`);
  }
  return { kind: "PromoteLearner", memberId: learner.id, reason: `learner ${learner.id} has caught up` };
}

/**
 * A voter whose pod came back with an empty volume waits, non-voting: it is removed and
 * then re-added as a learner (by scaleOut), which catches up and is promoted.
 */
export function replaceLostMember(context: PlanContext): PlanStep | undefined {
  const lost = context.membership.voters.find((m) => m.nonVoting === true);
  if (lost === undefined) return undefined;
  if (!context.membership.canRemove(lost.id)) return refuse(context, `removing member ${lost.id}, whose volume was lost,`);
  return { kind: "RemoveMember", memberId: lost.id, reason: `member ${lost.id} lost its volume (its pod came back empty): removing it to re-add it as a learner` };
}

/** Scale in, highest member first: hand leadership away first if the leader is leaving. */
export function scaleIn(context: PlanContext): PlanStep | undefined {
  const leaving = [...context.membership.voters].filter((m) => !wanted(context, m.id)).sort((a, b) => b.id - a.id)[0];
  if (leaving === undefined) return undefined;
  const leaderId = context.membership.view.leaderId;
  if (leaving.id === leaderId) {
    const successor = context.membership.bestSuccessor((m) => wanted(context, m.id));
    if (successor === undefined) return { kind: "Wait", reason: `ScalingIn: leader ${leaderId} is leaving but no healthy member that stays can take over yet` };
    return { kind: "TransferLeader", from: leaderId, to: successor.id, reason: `leader ${leaderId} is leaving (scaling in to ${context.target})` };
  }
  if (!context.membership.canRemove(leaving.id)) return refuse(context, `removing member ${leaving.id} to scale in to ${context.target}`);
  return { kind: "RemoveMember", memberId: leaving.id, reason: `scaling in to ${context.target} members` };
}

/** Scale out (or re-add a replaced member), lowest missing member first, as a learner. */
export function scaleOut(context: PlanContext): PlanStep | undefined {
  const missing = wantedIds(context).find((id) => !context.membership.has(id));
  if (missing === undefined) return undefined;
  const podRuns = context.pods.some((p) => p.ordinal === ordinalOfMember(missing));
  return {
    kind: "AddLearner",
    memberId: missing,
    reason: podRuns
      ? `member ${missing} is not in the membership but its pod runs: re-adding it as a learner, to catch up from the leader`
      : `scaling out to ${context.target}: adding member ${missing} (pod ordinal ${ordinalOfMember(missing)}) as a learner`,
  };
}

function refuse(context: PlanContext, change: string): PlanStep {
  const m = context.membership;
  return {
    kind: "Refuse",
    reason: "QuorumAtRisk",
    message: `${change} would leave fewer healthy voters than a quorum (${m.healthyVoters()} of ${m.voters.length} voters healthy): refused until the unhealthy members recover`,
  };
}
