/**
 * A quorum-loss recovery, once accepted (status.recovery, phase Rebuilding), decided as
 * data: which pods still run under the old cluster id and must restart, and when the
 * survivor leads the new cluster. Pure: the controller carries out the step.
 *
 * Every pod restarts at once: the old cluster has no quorum, so nothing serves that a
 * one-at-a-time roll would keep serving, and a pod left on the old id would only be
 * refused by the new cluster. The survivor rebuilds its data dir as the only member of
 * the new cluster when it starts (KVRAFT_RECOVER_FROM_MEMBER, from the ConfigMap); the
 * others start empty under the new id and wait to be added, as learners, by the usual
 * scale-out once the recovery is complete.
 */
import type { MembershipView, PodView, RecoveryStatus } from "../types.js";
import { ordinalOfMember } from "../types.js";

export type RecoveryStep =
  | { readonly kind: "RestartPods"; readonly pods: readonly PodView[]; readonly reason: string }
  | { readonly kind: "Wait"; readonly reason: string }
  | { readonly kind: "Complete"; readonly message: string };

export function planRecovery(recovery: RecoveryStatus, pods: readonly PodView[], membership: MembershipView | undefined): RecoveryStep {
  const { fromMember, clusterId } = recovery;
  const old = pods.filter((p) => !p.terminating && p.clusterId !== clusterId);
  if (old.length > 0) {
    return { kind: "RestartPods", pods: old, reason: `pod ${old.map((p) => p.name).join(", ")} still run${old.length === 1 ? "s" : ""} under the old cluster id: restarting under ${clusterId}` };
  }
  const survivorPod = pods.find((p) => p.ordinal === ordinalOfMember(fromMember));
  if (membership === undefined || membership.leaderId !== fromMember) {
    const where = survivorPod === undefined ? "its pod is not created yet" : survivorPod.ready ? "it has not taken the lead yet" : `its pod ${survivorPod.name} is ${survivorPod.terminating ? "shutting down" : "starting"}`;
    return { kind: "Wait", reason: `Recovering: waiting for member ${fromMember} to rebuild its data and lead cluster ${clusterId} (${where})` };
  }
  const voters = membership.members.filter((m) => m.role === "voter").map((m) => m.id);
  return {
    kind: "Complete",
    message: `member ${fromMember} leads cluster ${clusterId} (voters ${voters.join(",")}; term ${membership.term}, commit index ${membership.commitIndex}); members of cluster ${recovery.fromClusterId} are refused from now on. The other members join empty, as learners`,
  };
}
