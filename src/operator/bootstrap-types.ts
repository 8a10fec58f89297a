/**
 * spec.bootstrap of a KVRaftCluster: a new cluster founded from a backup file rather than
 * empty. The pure parts (desired/restore-job.ts, bootstrap-status.ts) take these values
 * in; the controller (controller/bootstrap-gate.ts) turns them into API calls.
 */

/**
 * Where the backup is: a KVRaftBackup of the same namespace (its status names the claim
 * and path once it is Completed), or a claim and a path inside it. Exactly one of the two
 * forms; the CRD refuses both or neither, and the whole of spec.bootstrap is immutable.
 */
export interface FromBackupSpec {
  readonly backupName?: string;
  readonly claimName?: string;
  /** Relative to the claim's root, without "..": the restore Job mounts the claim read-only at a fixed place. */
  readonly path?: string;
}

export interface BootstrapSpec {
  readonly fromBackup?: FromBackupSpec;
}

/**
 * Restoring: the restore Job checks the file whole and writes member 1's data.
 * Restored: member 1 has the snapshot; the StatefulSet starts with it alone and the
 * others join as learners. Refused: the file is not a sound backup (or the backup
 * failed); no member starts, and since spec.bootstrap is immutable the cluster must be
 * made again with another backup.
 */
export type BootstrapPhase = "Waiting" | "Restoring" | "Restored" | "Refused";

export interface BootstrapStatus {
  readonly phase: BootstrapPhase;
  /** The KVRaftBackup the file came from, when named. */
  readonly backupName?: string;
  readonly claimName?: string;
  readonly path?: string;
  /** The revision the new cluster starts at (every write of the source up to it). */
  readonly revision?: number;
  /** The cluster the backup was taken of (history: this cluster has its own id). */
  readonly sourceClusterId?: string;
  /** What happened, for a person: why it waits, what is wrong with the file. */
  readonly message?: string;
}
