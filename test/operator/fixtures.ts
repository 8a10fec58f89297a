import type { ClusterSpec, ClusterStatus, KVRaftCluster } from "../../src/operator/types.js";

/** A KVRaftCluster as the API server would return it (uid, namespace, generation set). */
export function makeCluster(spec: Partial<ClusterSpec> = {}, status?: ClusterStatus, name = "kv"): KVRaftCluster {
  return {
    apiVersion: "kvraft.io/v1alpha1",
    kind: "KVRaftCluster",
    metadata: { name, namespace: "db", uid: "0b7f3c2e-1111-4a7c-9d1e-5f6a7b8c9d0e", generation: 1 },
    spec: { replicas: 3, image: "kvraft:test", storage: { size: "1Gi" }, ...spec },
    ...(status === undefined ? {} : { status }),
  };
}

export const OPTIONS = {
  adminToken: "s3cret-token",
  operator: { namespace: "kvraft-system", podLabels: { "app.kubernetes.io/name": "kvraft-operator" } },
} as const;
