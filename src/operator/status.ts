import type { NodeId } from "../raft/types.js";
import type { Activity } from "./activity.js";
import { describeActivity } from "./activity.js";
import { podName, selectorLabels } from "./desired/index.js";
import { Membership } from "./planner/quorum.js";
import type { ClusterStatus, Condition, KVRaftCluster, MemberView, PlannerInput, PlanStep, RecoveryStatus } from "./types.js";
import { ordinalOfMember } from "./types.js";

export interface StatusInput extends PlannerInput {
  /** The step the planner chose from this same input. */
  readonly step: PlanStep;
  /** The time a condition that changes now is stamped with (RFC 3339); an input, so the function stays pure. */
  readonly now: string;
  /** Set while a quorum is lost for good (controller/quorum-watch.ts): the QuorumLost condition's reason and message. */
  readonly quorumLoss?: { readonly reason: string; readonly message: string };
  /** The recovery from a survivor as it stands after this reconcile (controller/recovery-driver.ts). */
  readonly recovery?: RecoveryStatus;
}

/** The label selector of the server pods, as the scale subresource wants it (a string). */
export function selectorString(cluster: KVRaftCluster): string {
  return Object.entries(selectorLabels(cluster, "server")).map(([k, v]) => `${k}=${v}`).join(",");
}

/**
 * The status to write: a pure function of what was observed, the planner's step and the
 * previous status. A condition keeps its lastTransitionTime while its status is unchanged,
 * so with nothing changed the result equals the previous status and nothing is written.
 */
export function computeStatus(input: StatusInput, previous: ClusterStatus | undefined): ClusterStatus {
  const { cluster, membership, pods } = input;
  const name = cluster.metadata.name;
  const recovery = input.recovery ?? previous?.recovery;
  const formedBefore = previous?.formed === true || cluster.status?.formed === true;
  const previousPhase = previous?.phase ?? cluster.status?.phase;
  const startingUp = previousPhase === undefined || previousPhase === "Pending" || previousPhase === "Creating";
  const current = describeActivity(input, input.step, formedBefore, startingUp);
  const view = membership === undefined ? undefined : new Membership(membership);
  const leader = view !== undefined && view.voters.some((m) => m.id === view.view.leaderId) ? view.view.leaderId : undefined;
  const members: MemberView[] | undefined = membership?.members.map((m) => ({
    id: m.id, pod: podOfMember(name, m.id), role: m.role, healthy: Membership.countsTowardQuorum(m), ...(m.lag === undefined ? {} : { lag: m.lag }),
  })).sort((a, b) => a.id - b.id);
  const status: ClusterStatus = {
    ...(cluster.metadata.generation === undefined ? {} : { observedGeneration: cluster.metadata.generation }),
    phase: current.phase,
    reason: current.message,
    conditions: conditions(current, cluster.metadata.generation, previous?.conditions ?? [], input.now, input.quorumLoss),
    replicas: view?.voters.length ?? previous?.replicas ?? 0,
    readyReplicas: pods.filter((p) => p.ready && !p.terminating).length,
    selector: selectorString(cluster),
    formed: formedBefore || leader !== undefined,
    ...(leader === undefined ? {} : { leader: { id: leader, pod: podOfMember(name, leader) } }),
    ...(membership === undefined ? pick(previous) : { term: membership.term, commitIndex: membership.commitIndex }),
    // No member at all is what members that all came back empty say: the last known ones stay.
    ...(members === undefined || members.length === 0 ? (previous?.members === undefined ? {} : { members: previous.members }) : { members }),
    ...(previous?.bootstrap === undefined ? {} : { bootstrap: previous.bootstrap }),
    ...(recovery === undefined ? {} : { recovery }),
  };
  return status;
}

function podOfMember(cluster: string, id: NodeId): string {
  return podName(cluster, ordinalOfMember(id));
}

/** With no member answering, the last known term and commit index stay (they only grow). */
function pick(previous: ClusterStatus | undefined): Pick<ClusterStatus, "term" | "commitIndex"> {
  return {
    ...(previous?.term === undefined ? {} : { term: previous.term }),
    ...(previous?.commitIndex === undefined ? {} : { commitIndex: previous.commitIndex }),
  };
}

const PROGRESSING_PHASES = new Set(["Pending", "Creating", "Scaling", "Updating"]);

/** The condition a cluster has now; it keeps its lastTransitionTime while its status is unchanged. */
export function makeCondition(
  type: Condition["type"], on: boolean, reason: string, message: string,
  at: { readonly previous: readonly Condition[]; readonly generation: number | undefined; readonly now: string },
): Condition {
  const status = on ? "True" : "False";
  const before = at.previous.find((c) => c.type === type);
  return {
    type, status, reason, message,
    lastTransitionTime: before !== undefined && before.status === status ? before.lastTransitionTime : at.now,
    ...(at.generation === undefined ? {} : { observedGeneration: at.generation }),
  };
}

/** The conditions this function owns; others (Bootstrapped, by the bootstrap gate) stay as they were. */
const OWN_CONDITIONS: readonly Condition["type"][] = ["Available", "Progressing", "Degraded", "QuorumLost"];

function conditions(current: Activity, generation: number | undefined, previous: readonly Condition[], now: string, quorumLoss: StatusInput["quorumLoss"]): Condition[] {
  const available = current.reason !== "QuorumLost" && current.reason !== "NoAnswer" && current.phase !== "Pending" && current.phase !== "Creating";
  const progressing = PROGRESSING_PHASES.has(current.phase);
  const degraded = current.phase === "Degraded";
  const at = { previous, generation, now };
  // QuorumLost appears with the first loss for good and stays, False, once the quorum is back.
  const lost = quorumLoss === undefined && previous.some((c) => c.type === "QuorumLost")
    ? [makeCondition("QuorumLost", false, "QuorumNotLost", "a majority of voters is not gone for good", at)]
    : quorumLoss === undefined ? [] : [makeCondition("QuorumLost", true, quorumLoss.reason, quorumLoss.message, at)];
  return [
    makeCondition("Available", available, available ? "QuorumHealthy" : current.reason, available ? "a quorum of members is healthy and a leader serves requests" : current.message, at),
    makeCondition("Progressing", progressing, progressing ? current.reason : "Stable", progressing ? current.message : "no change in progress", at),
    makeCondition("Degraded", degraded, degraded ? current.reason : "AllMembersHealthy", degraded ? current.message : "every member is healthy", at),
    ...lost,
    ...previous.filter((c) => !OWN_CONDITIONS.includes(c.type)),
  ];
}
