import type { ClusterSpec, RetentionPolicy } from "../types.js";

/**
 * The CRD's defaults, applied again here so a spec read from a file (tests, examples)
 * gives the same manifests as one the API server defaulted. Keep in step with crds/.
 */
export const SPEC_DEFAULTS = {
  heartbeatMs: 100,
  electionMs: 1000,
  coordinatorReplicas: 1,
  serviceType: "ClusterIP",
  retention: "Retain",
  imagePullPolicy: "IfNotPresent",
  storageSize: "1Gi",
  networkPolicyEnabled: true,
} as const;

export interface ResolvedTiming { readonly heartbeatMs: number; readonly electionMs: number }

export function raftTiming(spec: ClusterSpec): ResolvedTiming {
  return { heartbeatMs: spec.raft?.heartbeatMs ?? SPEC_DEFAULTS.heartbeatMs, electionMs: spec.raft?.electionMs ?? SPEC_DEFAULTS.electionMs };
}

export function retention(spec: ClusterSpec): { whenDeleted: RetentionPolicy; whenScaled: RetentionPolicy } {
  return { whenDeleted: spec.pvcRetention?.whenDeleted ?? SPEC_DEFAULTS.retention, whenScaled: spec.pvcRetention?.whenScaled ?? SPEC_DEFAULTS.retention };
}

export function networkPolicyEnabled(spec: ClusterSpec): boolean {
  return spec.networkPolicy?.enabled ?? SPEC_DEFAULTS.networkPolicyEnabled;
}

export function coordinatorReplicas(spec: ClusterSpec): number {
  return spec.coordinator?.replicas ?? SPEC_DEFAULTS.coordinatorReplicas;
}

/**
 * How long a leader asked to stop waits for leadership to move: a few election
 * timeouts, so a follower can catch up and win before the old leader exits.
 */
export function shutdownTransferMs(spec: ClusterSpec): number {
  return Math.max(2000, 3 * raftTiming(spec).electionMs);
}

/** Seconds Kubernetes waits after SIGTERM: the transfer, then flushing and closing, with room to spare. */
export function terminationGracePeriodSeconds(spec: ClusterSpec): number {
  return Math.ceil(shutdownTransferMs(spec) / 1000) + 20;
}

/**
 * The fields every manifest reads without checking: filled in when a spec comes from a
 * file rather than the API server (which applies the CRD's defaults itself).
 */
export function withRequiredDefaults(spec: ClusterSpec): ClusterSpec {
  const storage = (spec.storage as ClusterSpec["storage"] | undefined) ?? { size: SPEC_DEFAULTS.storageSize };
  return { ...spec, replicas: spec.replicas ?? 3, storage: { ...storage, size: storage.size ?? SPEC_DEFAULTS.storageSize } };
}
