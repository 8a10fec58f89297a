/**
 * The KVRaftScheduledBackup resource: KVRaftBackups made on a cron schedule, pruned by a
 * retention count and age. The pure decision (scheduled-backup-plan.ts) and the objects
 * it asks for (desired/scheduled-backup-objects.ts) take these values in; the controller
 * (controller/scheduled-backup-reconciler.ts) turns them into API calls.
 */
import type { BackupPhase } from "./backup-types.js";
import type { ObjectMeta } from "./types.js";

export const SCHEDULED_BACKUP_KIND = "KVRaftScheduledBackup";
export const SCHEDULED_BACKUP_PLURAL = "kvraftscheduledbackups";

/** Labels and annotations the operator puts on what a scheduled backup makes. */
export const SCHEDULED_BACKUP_META = {
  /** On each KVRaftBackup and prune Job: the scheduled backup's name (found by label selector). */
  ownerLabel: "kvraft.io/scheduled-backup",
  /** On each prune Job: "prune", so that it is told from anything else the label finds. */
  jobRoleLabel: "kvraft.io/job",
  /** On each KVRaftBackup: the slot it was made for, ISO 8601 (its name carries it in Unix seconds). */
  slotAnnotation: "kvraft.io/scheduled-time",
  /** On each prune Job: the claim and path of the file it removes, for the status when it fails. */
  prunedFileAnnotation: "kvraft.io/pruned-file",
} as const;

/**
 * The longest name a scheduled backup may have: its backups are named NAME-<10 digits>,
 * and their Jobs NAME-<10 digits>-backup, which must fit a 63-character label value
 * (the Job controller labels pods with the Job's name). The CRD says the same in CEL.
 */
export const SCHEDULED_BACKUP_NAME_CHARS_MAX = 45;

/** Bounds of spec.retention: a count below 1 would prune every backup, above this the LIST of backups grows without need. */
export const RETENTION_COUNT_MIN = 1;
export const RETENTION_COUNT_MAX = 500;
export const RETENTION_COUNT_DEFAULT = 7;
/** Failed backups kept for a person to read (`kubectl describe`); older ones are pruned. */
export const FAILED_KEPT_COUNT_MAX = 50;
export const FAILED_KEPT_COUNT_DEFAULT = 3;

export interface ScheduledBackupSpec {
  /** The KVRaftCluster to back up, in this namespace. */
  readonly cluster: string;
  /** Cron: five fields (minute hour day-of-month month day-of-week), six with seconds first, or @hourly, @daily, @weekly, @monthly, @yearly. In UTC. */
  readonly schedule: string;
  /** Where the files go: `<pathPrefix>/<backup name>.kvbackup` in the claim; pathPrefix defaults to the cluster's name. */
  readonly target: { readonly claimName: string; readonly pathPrefix?: string };
  readonly retention?: {
    /** Completed backups kept (the newest ones). */
    readonly count?: number;
    /** Completed backups older than this are pruned, the newest one excepted: a number and m, h or d ("30d"). */
    readonly maxAge?: string;
    /** Failed backups kept for inspection. */
    readonly failedCount?: number;
  };
  /** A slot that could not start within this many seconds of its time is missed, not run late. Default: run late, once. */
  readonly startingDeadlineSeconds?: number;
  /** True: no new backups (slots pass unused); pruning goes on. */
  readonly suspend?: boolean;
}

export interface ScheduledBackupCondition {
  readonly type: "ScheduleValid" | "FilesRemoved";
  readonly status: "True" | "False";
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime: string;
  readonly observedGeneration?: number;
}

export interface ScheduledBackupStatus {
  /** The slot of the last backup made. */
  readonly lastScheduleTime?: string;
  /** The last slot decided on: a backup made, or a slot skipped (one still running) or missed. */
  readonly lastSlotTime?: string;
  readonly nextScheduleTime?: string;
  /** The newest KVRaftBackup of this schedule, and its phase. */
  readonly lastBackup?: string;
  readonly lastBackupPhase?: BackupPhase;
  /** The newest Completed one: what a restore would use. */
  readonly lastCompletedBackup?: string;
  readonly conditions?: readonly ScheduledBackupCondition[];
  readonly observedGeneration?: number;
}

export interface KVRaftScheduledBackup {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ObjectMeta;
  readonly spec: ScheduledBackupSpec;
  readonly status?: ScheduledBackupStatus;
}
