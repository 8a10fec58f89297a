import { SpecError } from "../errors.js";
import { invariant } from "../../assert/invariant.js";
import type { KVRaftBackup } from "../backup-types.js";
import { BACKUP_KIND } from "../backup-types.js";
import { SCHEDULED_BACKUP_KIND, SCHEDULED_BACKUP_META, type KVRaftScheduledBackup } from "../scheduled-backup-types.js";
import type { KVRaftCluster, KubeObject, OwnerReference } from "../types.js";
import { API_GROUP, API_VERSION } from "../types.js";
import { BACKUP_PATHS, backupPath, backupPathProblem } from "./backup-job.js";
import { CLAIM_JOB_CONTAINER_SECURITY, claimJob } from "./claim-job.js";
import { SPEC_DEFAULTS } from "./spec-defaults.js";

/** A finished prune Job is removed by the API server after this long; a failed one is reported in the status before that. */
export const PRUNE_JOB_TTL_SECONDS = 24 * 60 * 60;
/** Pods a prune Job may start: removing a file that is already gone succeeds, so another try is safe. */
export const PRUNE_JOB_BACKOFF_LIMIT = 2;
/** The prune Job gives up after this long whatever its pods do. */
export const PRUNE_JOB_DEADLINE_SECONDS = 10 * 60;
/** The value of the job-role label on prune Jobs. */
export const PRUNE_JOB_ROLE = "prune";

function ownerReference(scheduled: KVRaftScheduledBackup): OwnerReference {
  const uid = scheduled.metadata.uid;
  invariant(uid !== undefined && uid !== "", () => `KVRaftScheduledBackup ${scheduled.metadata.name} has no metadata.uid: what it owns is made from the object the API server returned`);
  return { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: SCHEDULED_BACKUP_KIND, name: scheduled.metadata.name, uid, controller: true, blockOwnerDeletion: true };
}

/**
 * The KVRaftBackup of one slot: owned by the scheduled backup (deleting it deletes them,
 * but not their files), labelled with its name, its file at `<pathPrefix>/<name>.kvbackup`.
 */
export function slotBackup(scheduled: KVRaftScheduledBackup, name: string, slotMs: number): KVRaftBackup {
  const prefix = scheduled.spec.target.pathPrefix ?? scheduled.spec.cluster;
  return {
    apiVersion: `${API_GROUP}/${API_VERSION}`, kind: BACKUP_KIND,
    metadata: {
      name, namespace: scheduled.metadata.namespace,
      labels: { [SCHEDULED_BACKUP_META.ownerLabel]: scheduled.metadata.name },
      annotations: { [SCHEDULED_BACKUP_META.slotAnnotation]: new Date(slotMs).toISOString() },
      ownerReferences: [ownerReference(scheduled)],
    },
    spec: { cluster: scheduled.spec.cluster, target: { claimName: scheduled.spec.target.claimName, path: `${prefix}/${name}.kvbackup` } },
  };
}

/** The prune Job of a backup: named after it, so one backup is pruned by one Job. */
export function pruneJobName(backup: KVRaftBackup): string {
  return `${backup.metadata.name}-prune`;
}

/**
 * A Job that removes a pruned backup's file from its claim: the operator does not mount
 * claims, so a pod that does must. It runs `kvraft backup remove`, which removes only a
 * file whose header reads as a KVRaft backup (and its `.partial` leftover), and succeeds
 * when the file is already gone. Owned by the scheduled backup, not by the backup: the
 * backup object is deleted as soon as this Job exists.
 */
export function pruneJob(scheduled: KVRaftScheduledBackup, backup: KVRaftBackup, cluster: KVRaftCluster): KubeObject {
  const path = backupPath(backup);
  const problem = backupPathProblem(path);
  if (problem !== undefined) throw new SpecError(`KVRaftBackup ${backup.metadata.name}: spec.target.path ${problem}`);
  const labels = { [SCHEDULED_BACKUP_META.ownerLabel]: scheduled.metadata.name, [SCHEDULED_BACKUP_META.jobRoleLabel]: PRUNE_JOB_ROLE };
  return claimJob({
    name: pruneJobName(backup), namespace: scheduled.metadata.namespace, labels,
    annotations: { [SCHEDULED_BACKUP_META.prunedFileAnnotation]: `${backup.spec.target.claimName}:${path}` },
    owner: ownerReference(scheduled),
    backoffLimit: PRUNE_JOB_BACKOFF_LIMIT, deadlineSeconds: PRUNE_JOB_DEADLINE_SECONDS, ttlSecondsAfterFinished: PRUNE_JOB_TTL_SECONDS,
    container: {
      name: "prune",
      image: cluster.spec.image,
      imagePullPolicy: cluster.spec.imagePullPolicy ?? SPEC_DEFAULTS.imagePullPolicy,
      args: ["backup", "remove", `${BACKUP_PATHS.claimDir}/${path}`],
      volumeMounts: [{ name: "target", mountPath: BACKUP_PATHS.claimDir }],
      securityContext: CLAIM_JOB_CONTAINER_SECURITY,
    },
    volumes: [{ name: "target", persistentVolumeClaim: { claimName: backup.spec.target.claimName } }],
  });
}
