import { createHash } from "node:crypto";
import { clusterIdOf } from "../desired/index.js";
import { planRecovery, type RecoveryStep } from "../planner/recovery.js";
import { RECOVER_ANNOTATION, type QuorumLossDecision } from "../planner/quorum-loss.js";
import type { KVRaftCluster, KubeObject, MembershipView, PodView, RecoveryStatus } from "../types.js";
import { deleteObject } from "./applier.js";
import type { EventRecorder } from "./events.js";
import type { KubeRest } from "./kube-rest.js";
import { CLUSTER_TYPE, objectPath } from "./resources.js";

type Recover = Extract<QuorumLossDecision, { kind: "Recover" }>;

/**
 * The new cluster id of a recovery: derived from the CR, the history left behind and the
 * member recovered from, so deciding the same recovery again (an operator that restarted
 * before it saw its own status write) gives the same id, never a second history.
 */
export function recoveredClusterId(uid: string, fromClusterId: string, fromMember: number): string {
  const bytes = createHash("sha256").update(`kvraft recovery\n${uid}\n${fromClusterId}\n${fromMember}`).digest().subarray(0, 16);
  // Shaped as a UUID (version 8: custom), like the CR uids the ids are otherwise.
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The record written to status.recovery when a recovery is accepted, before anything changes. */
export function startedRecovery(cluster: KVRaftCluster, decision: Recover, now: string): RecoveryStatus {
  const fromClusterId = clusterIdOf(cluster);
  const clusterId = recoveredClusterId(cluster.metadata.uid ?? "", fromClusterId, decision.fromMember);
  return {
    phase: "Rebuilding", fromMember: decision.fromMember, fromClusterId, clusterId,
    commitIndex: decision.commitIndex, lastIndex: decision.lastIndex, startedAt: now,
    message: `${decision.message}: cluster ${fromClusterId} becomes cluster ${clusterId}`,
  };
}

export interface RecoveryDriverDeps {
  readonly rest: KubeRest;
  readonly events: EventRecorder;
  /** The live pod of a name, for the uid precondition of its deletion. */
  readonly livePod: (namespace: string, name: string) => KubeObject | undefined;
  /** The CR as the API server returned it after a write (read back until the informer has it). */
  readonly remember: (written: KubeObject) => void;
}

/**
 * Carries out an accepted recovery (planner/recovery.ts decides): restarts the pods that
 * still run under the old id, and completes once the survivor leads the new cluster.
 * Runs after the desired objects were applied, so the StatefulSet, the ConfigMap and the
 * member certificates already carry the new id when a pod starts again.
 */
export class RecoveryDriver {
  constructor(private readonly deps: RecoveryDriverDeps) {}

  /** One step; returns the record to write (Completed once the survivor leads) and what it waits for. */
  async advance(cluster: KVRaftCluster, recovery: RecoveryStatus, pods: readonly PodView[], membership: MembershipView | undefined, now: string): Promise<{ readonly recovery: RecoveryStatus; readonly reason: string }> {
    const step = planRecovery(recovery, pods, membership);
    const result = await this.carryOut(cluster, recovery, step, now);
    // Taken away again if the first try failed: after the step, which must not wait on it.
    await this.consumeAnnotation(cluster);
    return result;
  }

  private async carryOut(cluster: KVRaftCluster, recovery: RecoveryStatus, step: RecoveryStep, now: string): Promise<{ readonly recovery: RecoveryStatus; readonly reason: string }> {
    const namespace = cluster.metadata.namespace ?? "default";
    switch (step.kind) {
      case "RestartPods":
        for (const pod of step.pods) {
          await deleteObject(this.deps.rest, "v1", "Pod", pod.name, namespace, this.deps.livePod(namespace, pod.name)?.metadata.uid);
        }
        await this.deps.events.record(cluster, { type: "Normal", reason: "RecoveryRestartingPods", message: step.reason });
        return { recovery, reason: step.reason };
      case "Wait":
        return { recovery, reason: step.reason };
      case "Complete":
        await this.deps.events.record(cluster, { type: "Normal", reason: "Recovered", message: step.message });
        return { recovery: { ...recovery, phase: "Completed", completedAt: now, message: step.message }, reason: step.message };
    }
  }

  /**
   * The annotation asked for one recovery: once it is recorded in the status, it is taken
   * away, so a later loss of quorum is again a person's decision, not an old request's.
   */
  async consumeAnnotation(cluster: KVRaftCluster): Promise<void> {
    if (cluster.metadata.annotations?.[RECOVER_ANNOTATION] === undefined) return;
    this.deps.remember(await this.deps.rest.request<KubeObject>("PATCH", objectPath(CLUSTER_TYPE, cluster.metadata.name, cluster.metadata.namespace), {
      body: { metadata: { annotations: { [RECOVER_ANNOTATION]: null } } }, contentType: "application/merge-patch+json",
    }));
  }
}
