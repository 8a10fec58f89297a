import type { Logger } from "pino";
import { jobViewOf, lastTerminationMessage } from "../backup-status.js";
import type { KVRaftBackup } from "../backup-types.js";
import type { BootstrapStatus } from "../bootstrap-types.js";
import { bootstrapClusterStatus, bootstrapReason, resolveSource, restoreProgress, unresolvedProgress } from "../bootstrap-status.js";
import { RESTORE_CONTAINER, restoreClaim, restoreJob, restoreJobName } from "../desired/restore-job.js";
import type { ClusterPhase, KVRaftCluster, KubeObject } from "../types.js";
import { applyObject, applyStatus } from "./applier.js";
import type { EventRecorder } from "./events.js";
import { getIfExists, type KubeRest } from "./kube-rest.js";
import { BACKUP_TYPE, collectionPath, JOB_TYPE, objectPath, resourceTypeOf } from "./resources.js";

export interface BootstrapGateDeps {
  readonly rest: KubeRest;
  readonly events: EventRecorder;
  readonly log: Logger;
  /** An object the operator just wrote, so the next reconcile reads it before the informer has it. */
  readonly remember?: (written: KubeObject) => void;
}

/** What the reconcile of a held cluster comes to: its phase, and when to look again (never, once refused). */
export interface HeldCluster {
  readonly phase: ClusterPhase;
  readonly requeueAfterMs?: number;
}

/** How soon a cluster that waits for its backup, or for the restore Job, is looked at again. */
const BOOTSTRAP_POLL_MS = 2_000;
/** Pods of the restore Job read for its termination message (it has one; room for a replaced one). */
const RESTORE_PODS_MAX = 5;
const POD_TYPE = resourceTypeOf("v1", "Pod");

/**
 * Holds back a cluster founded from a backup (spec.bootstrap.fromBackup) until member 1's
 * data is restored: resolve the backup → make pod 0's claim and the restore Job → read
 * the Job's outcome → status and Events. Nothing of the cluster starts before then: the
 * StatefulSet is made only once the Job succeeded, and never for a refused backup. Safe
 * to repeat: the claim and the Job have fixed names and are applied, not created twice.
 */
export class BootstrapGate {
  constructor(private readonly deps: BootstrapGateDeps) {}

  /** Undefined: nothing holds the cluster back (no bootstrap, or it is done); reconcile it as usual. */
  async hold(cluster: KVRaftCluster, statefulSetExists: boolean): Promise<HeldCluster | undefined> {
    const from = cluster.spec.bootstrap?.fromBackup;
    if (from === undefined || statefulSetExists || cluster.status?.bootstrap?.phase === "Restored") return undefined;
    // spec.bootstrap is immutable: a refusal stands until the cluster is deleted.
    if (cluster.status?.bootstrap?.phase === "Refused") return { phase: "Failed" };
    const namespace = cluster.metadata.namespace ?? "default";
    const backup = from.backupName === undefined ? undefined : await getIfExists<KVRaftBackup>(this.deps.rest, objectPath(BACKUP_TYPE, from.backupName, namespace));
    const resolved = resolveSource(from, backup, namespace);
    let progress: BootstrapStatus;
    if (resolved.kind === "ready") {
      let job = await getIfExists<KubeObject>(this.deps.rest, objectPath(JOB_TYPE, restoreJobName(cluster), namespace));
      if (job !== undefined && job.metadata.ownerReferences?.some((o) => o.uid === cluster.metadata.uid) !== true) {
        progress = unresolvedProgress({ kind: "refused", message: `a Job named ${restoreJobName(cluster)} exists and does not belong to this cluster: delete it, or name the cluster differently` });
      } else {
        if (job === undefined) {
          // The claim first: the Job's pod mounts it.
          await applyObject(this.deps.rest, restoreClaim(cluster));
          job = await applyObject(this.deps.rest, restoreJob(cluster, resolved.source));
          await this.deps.events.record(cluster, { type: "Normal", reason: "RestoreStarted", message: `Job ${job.metadata.name} checks ${resolved.source.claimName}:${resolved.source.path} and restores member 1 from it` });
        }
        const pods = await this.deps.rest.request<{ items?: { status?: unknown }[] }>("GET", collectionPath(POD_TYPE, namespace), {
          query: { labelSelector: `job-name=${restoreJobName(cluster)}`, limit: String(RESTORE_PODS_MAX) },
        });
        progress = restoreProgress(resolved, jobViewOf(job), lastTerminationMessage(pods.items ?? [], RESTORE_CONTAINER));
      }
    } else {
      progress = unresolvedProgress(resolved);
    }
    await this.report(cluster, progress);
    if (progress.phase === "Refused") return { phase: "Failed" };
    return { phase: progress.phase === "Restored" ? "Creating" : "Pending", requeueAfterMs: BOOTSTRAP_POLL_MS };
  }

  /** The status, written when it changed, with an Event on the way to Restored or Refused. */
  private async report(cluster: KVRaftCluster, progress: BootstrapStatus): Promise<void> {
    const status = bootstrapClusterStatus(cluster, progress, new Date().toISOString());
    if (JSON.stringify(status) === JSON.stringify(cluster.status)) return;
    const written = await applyStatus(this.deps.rest, cluster, status);
    this.deps.remember?.(written);
    if (progress.phase === cluster.status?.bootstrap?.phase) return;
    const message = progress.message ?? bootstrapReason(progress.phase);
    if (progress.phase === "Refused") {
      this.deps.log.warn({ cluster: cluster.metadata.name, message }, "bootstrap from a backup refused");
      await this.deps.events.record(cluster, { type: "Warning", reason: bootstrapReason(progress.phase), message });
    } else if (progress.phase === "Restored" || progress.phase === "Waiting") {
      await this.deps.events.record(cluster, { type: "Normal", reason: bootstrapReason(progress.phase), message });
    }
  }
}
