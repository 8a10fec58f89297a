/**
 * The KVRaftBackup resource: one backup of one cluster, on demand, into a
 * PersistentVolumeClaim. The pure parts (desired/backup-job.ts, backup-status.ts) take
 * these values in; the controller turns them into API calls.
 */
import type { ObjectMeta } from "./types.js";

export const BACKUP_KIND = "KVRaftBackup";
export const BACKUP_PLURAL = "kvraftbackups";

export type BackupPhase = "Pending" | "Running" | "Completed" | "Failed";

export interface BackupSpec {
  /** The KVRaftCluster to back up, in the backup's namespace. */
  readonly cluster: string;
  /** Where the file goes: a claim in the backup's namespace, and a path inside it. */
  readonly target: {
    readonly claimName: string;
    /** Relative to the claim's root; default `<cluster>/<backup name>.kvbackup`. */
    readonly path?: string;
  };
}

export interface BackupStatus {
  readonly phase: BackupPhase;
  /** The claim and path of the file, once known. */
  readonly claimName?: string;
  readonly path?: string;
  readonly sizeBytes?: number;
  readonly revision?: number;
  readonly raftIndex?: number;
  readonly raftTerm?: number;
  /** The cluster id the backup says it came from. */
  readonly clusterId?: string;
  readonly durationMs?: number;
  readonly startTime?: string;
  readonly completionTime?: string;
  /** What happened, for a person: why it waits, what failed. */
  readonly message?: string;
  readonly observedGeneration?: number;
}

export interface KVRaftBackup {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ObjectMeta;
  readonly spec: BackupSpec;
  readonly status?: BackupStatus;
}
