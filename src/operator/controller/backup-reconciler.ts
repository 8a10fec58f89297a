import type { Logger } from "pino";
import { backupStatus, jobViewOf, lastTerminationMessage } from "../backup-status.js";
import type { BackupStatus, KVRaftBackup } from "../backup-types.js";
import { BACKUP_CONTAINER, backupJob, backupJobName } from "../desired/backup-job.js";
import type { KVRaftCluster, KubeObject } from "../types.js";
import { applyObject, applyStatusOf } from "./applier.js";
import type { EventRecorder } from "./events.js";
import type { OperatorMetrics } from "./metrics.js";
import { getIfExists, isNotFound, type KubeRest } from "./kube-rest.js";
import { BACKUP_TYPE, CLUSTER_TYPE, collectionPath, JOB_TYPE, objectPath } from "./resources.js";

export interface BackupReconcilerDeps {
  readonly rest: KubeRest;
  readonly events: EventRecorder;
  readonly log: Logger;
  readonly clusterDomain: string;
  readonly metrics?: OperatorMetrics;
}

/** Pods of one Job read for its termination message: backoffLimit + 1 of them, with room. */
const JOB_PODS_MAX = 20;

/**
 * One KVRaftBackup: observe (the backup, its cluster, its Job and the Job's pods) →
 * create the Job if missing → status from the pure mapping (backup-status.ts) → Events on
 * the way to Completed or Failed. A finished backup is left alone. Safe to repeat: the Job
 * is made once under a name fixed by the backup, and a Job of that name that the backup
 * does not own is refused, never adopted.
 */
export class BackupReconciler {
  constructor(private readonly deps: BackupReconcilerDeps) {}

  /** Reconciles one backup; true while it is not finished (look again soon). */
  async reconcile(backup: KVRaftBackup): Promise<boolean> {
    if (backup.status?.phase === "Completed" || backup.status?.phase === "Failed") return false;
    const namespace = backup.metadata.namespace ?? "default";
    const cluster = await getIfExists<KVRaftCluster>(this.deps.rest, objectPath(CLUSTER_TYPE, backup.spec.cluster, namespace));
    let job = await getIfExists<KubeObject>(this.deps.rest, objectPath(JOB_TYPE, backupJobName(backup), namespace));
    if (job !== undefined && job.metadata.ownerReferences?.some((o) => o.uid === backup.metadata.uid) !== true) {
      return this.write(backup, { phase: "Failed", message: `a Job named ${backupJobName(backup)} exists and does not belong to this backup: delete it or name the backup differently` });
    }
    if (job === undefined) {
      if (cluster === undefined) return this.write(backup, backupStatus(backup, undefined, undefined, `KVRaftCluster ${backup.spec.cluster} does not exist in ${namespace}: waiting for it`));
      job = await applyObject(this.deps.rest, backupJob(backup, cluster, this.deps.clusterDomain));
      await this.deps.events.record(backup as unknown as KubeObject, { type: "Normal", reason: "BackupStarted", message: `Job ${job.metadata.name} takes a backup of ${backup.spec.cluster} into claim ${backup.spec.target.claimName}` });
    }
    const pods = await this.deps.rest.request<{ items?: { status?: unknown }[] }>("GET", collectionPath({ apiVersion: "v1", kind: "Pod", plural: "pods", namespaced: true }, namespace), {
      query: { labelSelector: `job-name=${backupJobName(backup)}`, limit: String(JOB_PODS_MAX) },
    });
    const status = backupStatus(backup, jobViewOf(job), lastTerminationMessage(pods.items ?? [], BACKUP_CONTAINER));
    return this.write(backup, status);
  }

  private async write(backup: KVRaftBackup, status: BackupStatus): Promise<boolean> {
    const unchanged = JSON.stringify(status) === JSON.stringify(backup.status);
    if (!unchanged) {
      await applyStatusOf(this.deps.rest, BACKUP_TYPE, backup.metadata, status);
      this.count(backup, status);
      if (status.phase === "Completed") {
        await this.deps.events.record(backup as unknown as KubeObject, { type: "Normal", reason: "BackupCompleted", message: `revision ${status.revision ?? "?"}, ${status.sizeBytes ?? "?"} bytes, in ${status.claimName}:${status.path}` });
      } else if (status.phase === "Failed") {
        await this.deps.events.record(backup as unknown as KubeObject, { type: "Warning", reason: "BackupFailed", message: status.message ?? "the backup failed" });
      }
    }
    return status.phase !== "Completed" && status.phase !== "Failed";
  }

  /** A backup that just finished, in the metrics. */
  private count(backup: KVRaftBackup, status: BackupStatus): void {
    const metrics = this.deps.metrics;
    if (metrics === undefined || (status.phase !== "Completed" && status.phase !== "Failed")) return;
    metrics.backups.inc({ phase: status.phase });
    const completedMs = status.completionTime === undefined ? Number.NaN : Date.parse(status.completionTime);
    if (status.phase === "Completed" && Number.isFinite(completedMs)) {
      metrics.lastBackup.set({ cluster_namespace: backup.metadata.namespace ?? "default", cluster_name: backup.spec.cluster }, completedMs / 1000);
    }
  }
}

/**
 * Every unfinished backup in reach (one namespace, or all), reconciled in turn. Without
 * the KVRaftBackup CRD installed (404) backups are simply off; said once.
 */
export async function reconcileBackups(reconciler: BackupReconciler, rest: KubeRest, namespace: string | undefined, log: Logger, said: { missing: boolean }): Promise<void> {
  let list: { items?: KVRaftBackup[] };
  try {
    list = await rest.request<{ items?: KVRaftBackup[] }>("GET", collectionPath(BACKUP_TYPE, namespace));
  } catch (error) {
    if (!isNotFound(error)) throw error;
    if (!said.missing) log.info("the KVRaftBackup CRD is not installed: backups are off until it is (crds/kvraftbackup.yaml)");
    said.missing = true;
    return;
  }
  said.missing = false;
  for (const item of list.items ?? []) {
    // Items of a LIST may come without apiVersion and kind; Events name the object by them.
    const backup: KVRaftBackup = { ...item, apiVersion: BACKUP_TYPE.apiVersion, kind: BACKUP_TYPE.kind };
    try {
      await reconciler.reconcile(backup);
    } catch (error) {
      log.warn({ backup: `${backup.metadata.namespace ?? ""}/${backup.metadata.name}`, err: error }, "backup reconcile failed: trying again at the next poll");
    }
  }
}
