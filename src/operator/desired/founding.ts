import type { KVRaftCluster } from "../types.js";

/**
 * Members of the first configuration. A cluster founded from a backup starts with member
 * 1 alone, on the restored snapshot: every other member must join it as a learner and
 * catch up (the planner's scale-out), never found a second, empty history of its own.
 */
export function foundingReplicas(cluster: KVRaftCluster): number {
  return cluster.spec.bootstrap?.fromBackup === undefined ? cluster.spec.replicas : 1;
}
