import type { Logger } from "pino";
import type { KVRaftBackup } from "../backup-types.js";
import { pruneJob, PRUNE_JOB_ROLE, slotBackup } from "../desired/scheduled-backup-objects.js";
import { type OwnedBackup, planSchedule, type PruneChoice, type SchedulePlan } from "../scheduled-backup-plan.js";
import { type FailedPrune, scheduledBackupStatus } from "../scheduled-backup-status.js";
import { SCHEDULED_BACKUP_META, type KVRaftScheduledBackup, type ScheduledBackupStatus } from "../scheduled-backup-types.js";
import type { KVRaftCluster, KubeObject } from "../types.js";
import { applyObject, applyStatusOf, deleteObject } from "./applier.js";
import type { EventRecorder } from "./events.js";
import { getIfExists, type KubeRest } from "./kube-rest.js";
import type { OperatorMetrics } from "./metrics.js";
import { reconcileEach } from "./resource-poll.js";
import { BACKUP_TYPE, CLUSTER_TYPE, collectionPath, JOB_TYPE, objectPath, SCHEDULED_BACKUP_TYPE } from "./resources.js";

export interface ScheduledBackupReconcilerDeps {
  readonly rest: KubeRest;
  readonly events: EventRecorder;
  readonly log: Logger;
  readonly metrics?: OperatorMetrics;
  /** The clock, in ms since the epoch: injected so that a test can step a schedule through its slots. */
  readonly nowMs: () => number;
}

/**
 * Backups and prune Jobs of one schedule read in one LIST each. Retention keeps at most
 * RETENTION_COUNT_MAX completed and FAILED_KEPT_COUNT_MAX failed ones, and pruning runs on
 * every poll, so more than this means something else made objects with the label.
 */
const OWNED_LIST_MAX = 1000;

/**
 * One KVRaftScheduledBackup: observe (its backups and prune Jobs) → the pure plan
 * (scheduled-backup-plan.ts) → carry it out (make the slot's backup, prune) → the pure
 * status → Events where something changed. Safe to repeat and to restart: a slot's backup
 * has a name fixed by the slot, so a second try finds it rather than making another.
 */
export class ScheduledBackupReconciler {
  constructor(private readonly deps: ScheduledBackupReconcilerDeps) {}

  async reconcile(scheduled: KVRaftScheduledBackup): Promise<void> {
    if (scheduled.metadata.deletionTimestamp !== undefined) return;
    const nowMs = this.deps.nowMs();
    const owned = await this.ownedBackups(scheduled);
    const plan = planSchedule({
      nowMs, spec: scheduled.spec, backups: owned.map(ownedView),
      createdMs: Date.parse(scheduled.metadata.creationTimestamp ?? new Date(nowMs).toISOString()),
      ...(scheduled.status?.lastSlotTime === undefined ? {} : { lastSlotMs: Date.parse(scheduled.status.lastSlotTime) }),
    }, scheduled.metadata.name);
    const made = await this.carryOutSlot(scheduled, plan);
    const pruned = await this.prune(scheduled, plan.prune, owned);
    const after = [...owned.filter((b) => !pruned.names.has(b.metadata.name)).map(ownedView), ...(made === undefined ? [] : [made])];
    const status = scheduledBackupStatus({
      previous: scheduled.status, plan, backups: after, failedPrunes: await this.failedPrunes(scheduled),
      ...(pruned.blocked === undefined ? {} : { pruneBlocked: pruned.blocked }),
      ...(scheduled.metadata.generation === undefined ? {} : { generation: scheduled.metadata.generation }),
      nowMs,
    });
    await this.write(scheduled, status);
  }

  /** Makes the slot's backup, or says why not; the backup made, as the plan sees it. */
  private async carryOutSlot(scheduled: KVRaftScheduledBackup, plan: SchedulePlan): Promise<OwnedBackup | undefined> {
    if (!plan.valid || plan.slot === undefined) return undefined;
    const slot = plan.slot;
    const at = new Date(slot.slotMs).toISOString();
    const object = scheduled as unknown as KubeObject;
    switch (slot.action) {
      case "create": {
        await applyObject(this.deps.rest, slotBackup(scheduled, slot.name, slot.slotMs) as unknown as KubeObject);
        this.deps.metrics?.scheduledSlots.inc({ outcome: "created" });
        const passed = slot.slotsPassed > 1 ? `; ${slot.slotsPassedMore ? "more than " : ""}${slot.slotsPassed - 1} earlier slots passed while no backup could be made, the latest is taken once` : "";
        await this.deps.events.record(object, { type: "Normal", reason: "BackupScheduled", message: `KVRaftBackup ${slot.name} made for the slot at ${at}${passed}` });
        return { name: slot.name, slotMs: slot.slotMs };
      }
      case "skip":
        this.deps.metrics?.scheduledSlots.inc({ outcome: "skipped" });
        await this.deps.events.record(object, { type: "Warning", reason: "ScheduleSkipped", message: `the slot at ${at} is skipped: KVRaftBackup ${slot.running} is not finished (one backup of a schedule at a time); if it waits for long, kubectl describe kvraftbackup ${slot.running}` });
        return undefined;
      case "miss":
        this.deps.metrics?.scheduledSlots.inc({ outcome: "missed" });
        await this.deps.events.record(object, { type: "Warning", reason: "MissedSchedule", message: `the slot at ${at} was found ${Math.round(slot.lateMs / 1000)} s late, past startingDeadlineSeconds ${scheduled.spec.startingDeadlineSeconds ?? ""}: no backup for it` });
        return undefined;
      case "exists":
      case "suspended":
        return undefined;
    }
  }

  /**
   * For each backup to prune: a Job that removes its file (the operator mounts no claim),
   * then the backup object. The Job is made first so that a crash between the two leaves
   * a backup that is pruned again (same Job name), never a file no object names.
   */
  private async prune(scheduled: KVRaftScheduledBackup, choices: readonly PruneChoice[], owned: readonly KVRaftBackup[]): Promise<{ names: Set<string>; blocked?: string }> {
    const names = new Set<string>();
    if (choices.length === 0) return { names };
    const namespace = scheduled.metadata.namespace ?? "default";
    const cluster = await getIfExists<KVRaftCluster>(this.deps.rest, objectPath(CLUSTER_TYPE, scheduled.spec.cluster, namespace));
    if (cluster === undefined) {
      return { names, blocked: `${choices.length} backups wait to be pruned: the prune Job runs the image of KVRaftCluster ${scheduled.spec.cluster}, which does not exist in ${namespace}; remove their files with kvraft backup remove in a pod that mounts the claim, then delete the KVRaftBackups` };
    }
    for (const choice of choices) {
      const backup = owned.find((b) => b.metadata.name === choice.name);
      if (backup === undefined) continue;
      await applyObject(this.deps.rest, pruneJob(scheduled, backup, cluster));
      await deleteObject(this.deps.rest, BACKUP_TYPE.apiVersion, BACKUP_TYPE.kind, backup.metadata.name, namespace, backup.metadata.uid);
      names.add(backup.metadata.name);
      this.deps.metrics?.backupsPruned.inc();
      await this.deps.events.record(scheduled as unknown as KubeObject, { type: "Normal", reason: "BackupPruned", message: `KVRaftBackup ${backup.metadata.name} pruned (${choice.why}); a Job removes its file ${backup.spec.target.claimName}:${backup.spec.target.path ?? ""}` });
    }
    return { names };
  }

  private async ownedBackups(scheduled: KVRaftScheduledBackup): Promise<KVRaftBackup[]> {
    const list = await this.deps.rest.request<{ items?: KVRaftBackup[] }>("GET", collectionPath(BACKUP_TYPE, scheduled.metadata.namespace ?? "default"), {
      query: { labelSelector: `${SCHEDULED_BACKUP_META.ownerLabel}=${scheduled.metadata.name}`, limit: String(OWNED_LIST_MAX) },
    });
    // The label is a hint anyone can set; the owner reference is the proof.
    return (list.items ?? []).filter((b) => b.metadata.ownerReferences?.some((o) => o.uid === scheduled.metadata.uid) === true && b.metadata.deletionTimestamp === undefined);
  }

  private async failedPrunes(scheduled: KVRaftScheduledBackup): Promise<FailedPrune[]> {
    const list = await this.deps.rest.request<{ items?: KubeObject[] }>("GET", collectionPath(JOB_TYPE, scheduled.metadata.namespace ?? "default"), {
      query: { labelSelector: `${SCHEDULED_BACKUP_META.ownerLabel}=${scheduled.metadata.name},${SCHEDULED_BACKUP_META.jobRoleLabel}=${PRUNE_JOB_ROLE}`, limit: String(OWNED_LIST_MAX) },
    });
    return (list.items ?? []).filter(jobFailed).map((job) => ({ job: job.metadata.name, file: job.metadata.annotations?.[SCHEDULED_BACKUP_META.prunedFileAnnotation] ?? "?" }));
  }

  /** Writes the status when it changed; an Event when a condition turns False or its message changes. */
  private async write(scheduled: KVRaftScheduledBackup, status: ScheduledBackupStatus): Promise<void> {
    if (JSON.stringify(status) === JSON.stringify(scheduled.status)) return;
    await applyStatusOf(this.deps.rest, SCHEDULED_BACKUP_TYPE, scheduled.metadata, status);
    for (const condition of status.conditions ?? []) {
      const before = scheduled.status?.conditions?.find((c) => c.type === condition.type);
      if (condition.status === "False" && (before?.status !== "False" || before.message !== condition.message)) {
        await this.deps.events.record(scheduled as unknown as KubeObject, { type: "Warning", reason: condition.reason, message: condition.message });
      }
    }
  }
}

/** A backup as the plan sees it: its slot from the annotation the operator put on it (its creation time if that is missing). */
export function ownedView(backup: KVRaftBackup): OwnedBackup {
  const slot = Date.parse(backup.metadata.annotations?.[SCHEDULED_BACKUP_META.slotAnnotation] ?? backup.metadata.creationTimestamp ?? "");
  const finished = Date.parse(backup.status?.completionTime ?? "");
  return {
    name: backup.metadata.name,
    slotMs: Number.isFinite(slot) ? slot : 0,
    ...(backup.status?.phase === undefined ? {} : { phase: backup.status.phase }),
    ...(Number.isFinite(finished) ? { finishedMs: finished } : {}),
  };
}

function jobFailed(job: KubeObject): boolean {
  const conditions = (job as unknown as { status?: { conditions?: { type?: string; status?: string }[] } }).status?.conditions ?? [];
  return conditions.some((c) => c.type === "Failed" && c.status === "True");
}

/** Every KVRaftScheduledBackup in reach, reconciled in turn (the CRD missing turns them off, said once). */
export async function reconcileScheduledBackups(reconciler: ScheduledBackupReconciler, rest: KubeRest, namespace: string | undefined, log: Logger, said: { missing: boolean }): Promise<void> {
  await reconcileEach<KVRaftScheduledBackup>(rest, SCHEDULED_BACKUP_TYPE, namespace, log, said, (scheduled) => reconciler.reconcile(scheduled));
}
