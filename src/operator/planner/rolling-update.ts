import type { PlanStep, PodView } from "../types.js";
import { memberIdOfOrdinal } from "../types.js";
import type { PlanContext } from "./context.js";
import { outdated } from "./context.js";
import { Membership } from "./quorum.js";

/**
 * Pods on an older revision are deleted one at a time (the StatefulSet is OnDelete, so
 * each comes back on the new one): first any that is down already (restarting it on the
 * new revision cannot cost a vote), then healthy followers, highest ordinal first, and
 * the leader last, after it handed leadership to an updated member.
 */
export function rollingUpdate(context: PlanContext): PlanStep | undefined {
  const stale = context.pods.filter((p) => outdated(context, p)).sort((a, b) => b.ordinal - a.ordinal);
  if (stale.length === 0) return undefined;
  const membership = context.membership;
  const memberOf = (pod: PodView) => membership.view.members.find((m) => m.id === memberIdOfOrdinal(pod.ordinal));
  const leaderId = membership.view.leaderId;
  const down = stale.find((pod) => {
    const member = memberOf(pod);
    return member?.id !== leaderId && (member === undefined || !Membership.countsTowardQuorum(member));
  });
  if (down !== undefined) return deletePod(down, "it is down already");
  // A member can be healthy in Raft's eyes seconds before its pod passes /readyz: the next
  // restart waits for the kubelet too, so that clients behind the Service lose one member
  // at a time, never two.
  const unready = context.pods.find((pod) => !pod.ready);
  if (unready !== undefined) {
    return { kind: "Wait", reason: `RollingUpdate: waiting for ${unready.name} to be Ready (/readyz) before restarting the next pod` };
  }
  if (membership.learners.length > 0 || !membership.hasQuorum() || membership.healthyVoters() < membership.voters.length) {
    return { kind: "Wait", reason: "RollingUpdate: waiting for every member to be healthy before restarting the next one" };
  }
  const follower = stale.find((pod) => memberIdOfOrdinal(pod.ordinal) !== leaderId);
  if (follower !== undefined) {
    if (!membership.canRestartVoter(memberIdOfOrdinal(follower.ordinal))) {
      return { kind: "Wait", reason: `RollingUpdate: restarting ${follower.name} now would leave no quorum` };
    }
    return deletePod(follower, "a follower, highest ordinal first");
  }
  const leaderPod = stale[0] as PodView; // only the leader's pod is left
  if (membership.voters.length === 1) return deletePod(leaderPod, "the only member: the cluster is unavailable while it restarts");
  const successor = membership.bestSuccessor((m) => {
    const pod = context.pods.find((p) => memberIdOfOrdinal(p.ordinal) === m.id);
    return pod !== undefined && !outdated(context, pod);
  });
  if (successor === undefined) return { kind: "Wait", reason: "RollingUpdate: no updated healthy member can take over leadership yet" };
  return { kind: "TransferLeader", from: leaderId, to: successor.id, reason: `RollingUpdate: leader ${leaderId} is updated last, after handing leadership to ${successor.id}` };
}

function deletePod(pod: PodView, why: string): PlanStep {
  return { kind: "DeletePod", pod: pod.name, reason: `RollingUpdate: restarting ${pod.name} on the new revision (${why})` };
}
