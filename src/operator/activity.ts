import type { ClusterPhase, PlannerInput, PlanStep } from "./types.js";
import { memberIdOfOrdinal, ordinalOfMember } from "./types.js";
import { podName } from "./desired/names.js";
import { majority, Membership } from "./planner/quorum.js";

/** What the cluster is doing, in one word for machines (reason) and a sentence for people (message). */
export interface Activity {
  readonly phase: ClusterPhase;
  readonly reason: string;
  readonly message: string;
}

const activity = (phase: ClusterPhase, reason: string, message: string): Activity => ({ phase, reason, message });

/**
 * Reads the phase off the observed state and the planner's step (the same inputs, so they
 * agree). `formed`: the first configuration formed at some point (a silent cluster is then
 * Degraded, not Creating). `startingUp`: the cluster has not been Running yet, so members
 * still starting are creation, not a Degraded cluster (no Warning on every creation).
 */
export function describeActivity(input: PlannerInput, step: PlanStep, formed: boolean, startingUp = false): Activity {
  const { cluster, statefulSet, pods, membership } = input;
  if (statefulSet === undefined) return activity("Pending", "Creating", "creating the cluster's objects");
  if (membership === undefined) {
    return formed
      ? activity("Degraded", "NoAnswer", "no member answers the admin API")
      : activity("Creating", "FirstElection", "waiting for the first members to start and elect a leader");
  }
  const view = new Membership(membership);
  if (!view.voters.some((m) => m.id === membership.leaderId) || !view.hasQuorum()) {
    return activity("Degraded", "QuorumLost", `${view.healthyVoters()} of ${view.voters.length} voters are healthy, a quorum needs ${majority(view.voters.length)}: writes wait until members recover`);
  }
  if (step.kind === "Refuse") return activity("Degraded", step.reason, step.message);
  const target = cluster.spec.replicas;
  const learner = view.learners[0];
  if (learner !== undefined && !view.caughtUp(learner)) {
    return activity("Scaling", "LearnerCatchingUp", `learner ${learner.id} is catching up (lag ${learner.lag ?? "unknown"})`);
  }
  if (view.voters.some((m) => m.nonVoting === true) || (learner !== undefined && learner.id <= target && view.voters.length >= target)) {
    return activity("Scaling", "ReplacingMember", "replacing a member whose volume was lost");
  }
  if (view.voters.length < target) return activity("Scaling", "ScalingOut", `scaling out from ${view.voters.length} to ${target} members`);
  if (view.voters.length > target || statefulSet.replicas !== target) {
    return activity("Scaling", view.voters.length > target ? "ScalingIn" : "Resizing", `scaling to ${target} members (${view.voters.length} voters, StatefulSet at ${statefulSet.replicas})`);
  }
  const update = statefulSet.updateRevision;
  const stale = pods.filter((p) => update !== undefined && p.revision !== undefined && p.revision !== update);
  if (stale.length > 0) return activity("Updating", "RollingUpdate", `rolling update: ${stale.length} pod(s) still on the old revision`);
  const unhealthy = view.view.members.filter((m) => !Membership.countsTowardQuorum(m)).map((m) => podName(cluster.metadata.name, ordinalOfMember(m.id)));
  const notReady = (reason: string, message: string): Activity =>
    startingUp ? activity("Creating", "MembersStarting", `members still starting: ${message}`) : activity("Degraded", reason, message);
  if (unhealthy.length > 0) return notReady("MemberUnhealthy", `unhealthy: ${unhealthy.join(", ")} (a quorum is still healthy)`);
  const missingPods = Array.from({ length: target }, (_, i) => i).filter((i) => !pods.some((p) => p.ordinal === i && p.ready));
  if (missingPods.length > 0) {
    return notReady("MemberUnhealthy", `not ready: ${missingPods.map((i) => `${podName(cluster.metadata.name, i)} (member ${memberIdOfOrdinal(i)})`).join(", ")}`);
  }
  return activity("Running", "AllMembersHealthy", `${target} of ${target} members healthy`);
}
