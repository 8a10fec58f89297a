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
  tlsEnabled: true,
  certificateValidDays: 365,
  renewBeforeDays: 30,
} as const;

/** Bounds of spec.tls (as the CRD's): a certificate renewed before it is even issued would be reissued on every reconcile. */
export const TLS_BOUNDS = { validDaysMin: 2, validDaysMax: 3650, renewBeforeDaysMin: 1 } as const;

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

export interface ResolvedTls { readonly enabled: boolean; readonly certificateValidDays: number; readonly renewBeforeDays: number }

/** spec.tls with its defaults, checked (the CRD checks too; a spec from a file may not have been). */
export function tlsSettings(spec: ClusterSpec): ResolvedTls {
  const resolved = {
    enabled: spec.tls?.enabled ?? SPEC_DEFAULTS.tlsEnabled,
    certificateValidDays: spec.tls?.certificateValidDays ?? SPEC_DEFAULTS.certificateValidDays,
    renewBeforeDays: spec.tls?.renewBeforeDays ?? SPEC_DEFAULTS.renewBeforeDays,
  };
  const days = resolved.certificateValidDays;
  if (!Number.isSafeInteger(days) || days < TLS_BOUNDS.validDaysMin || days > TLS_BOUNDS.validDaysMax) {
    throw new RangeError(`spec.tls.certificateValidDays must be a whole number in [${TLS_BOUNDS.validDaysMin}, ${TLS_BOUNDS.validDaysMax}], got ${days}`);
  }
  const renew = resolved.renewBeforeDays;
  if (!Number.isSafeInteger(renew) || renew < TLS_BOUNDS.renewBeforeDaysMin || renew >= days) {
    throw new RangeError(`spec.tls.renewBeforeDays must be a whole number from ${TLS_BOUNDS.renewBeforeDaysMin} to below spec.tls.certificateValidDays (${days}), got ${renew}: otherwise every certificate would be reissued on every reconcile`);
  }
  return resolved;
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
