import { SpecError } from "../errors.js";
import type { V1Affinity, V1Container, V1ResourceRequirements, V1Toleration } from "@kubernetes/client-node";
import type { KVRaftCluster, KubeObject } from "../types.js";
import { memberIdOfOrdinal } from "../types.js";
import { backupPathProblem } from "./backup-job.js";
import { CLAIM_JOB_POD } from "./claim-job.js";
import { clusterIdOf, clusterNamespace, commonLabels, ownerReference, ownedMeta, selectorLabels } from "./meta.js";
import { objectNames, PATHS } from "./names.js";
import { dataClaimName, dataClaimSpec } from "./statefulset.js";
import { retention, SPEC_DEFAULTS } from "./spec-defaults.js";

/** Where the restore Job's container sees the backup claim (read-only), and writes its outcome. */
export const RESTORE_PATHS = { backupDir: "/backup", terminationMessage: "/dev/termination-log" } as const;
/** The Job's one container; the controller reads its termination message by this name. */
export const RESTORE_CONTAINER = "restore";
/** The member that starts from the snapshot: pod NAME-0's. */
export const RESTORED_ORDINAL = 0;
/**
 * One pod, never retried: `backup restore` checks the whole file before it writes a byte,
 * so a failure is a verdict on the file (or a pod that died mid-write, which a person
 * should look at), not something a second try would change.
 */
const RESTORE_JOB_BACKOFF_LIMIT = 0;
/** The Job gives up after this long whatever its pod does. */
const RESTORE_JOB_DEADLINE_SECONDS = 2 * 60 * 60;
const BACKUP_VOLUME = "backup";
const DATA_VOLUME = "data";

/** The claim and the path inside it of the backup a cluster is founded from, once resolved. */
export interface RestoreSource {
  readonly claimName: string;
  readonly path: string;
}

export function restoreJobName(cluster: KVRaftCluster): string {
  return `${cluster.metadata.name}-restore`;
}

/**
 * Pod 0's data claim, made before the StatefulSet exists so the restore Job can write
 * into it; the StatefulSet then takes it as its own (same name, same labels, same spec as
 * its claim template would give). Owned by the cluster only when claims go with it
 * (pvcRetention.whenDeleted Delete), as the StatefulSet's own claims are.
 */
export function restoreClaim(cluster: KVRaftCluster): KubeObject {
  const names = objectNames(cluster.metadata.name);
  const deleteWithCluster = retention(cluster.spec).whenDeleted === "Delete";
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: {
      name: dataClaimName(names.statefulSet, RESTORED_ORDINAL),
      namespace: clusterNamespace(cluster),
      labels: commonLabels(cluster, "server"),
      ...(deleteWithCluster ? { ownerReferences: [{ ...ownerReference(cluster), controller: false, blockOwnerDeletion: false }] } : {}),
    },
    spec: dataClaimSpec(cluster),
  };
}

/**
 * A Job that runs `kvraft backup restore` on the backup (its claim mounted read-only)
 * into pod 0's data claim, as member 1 of a cluster whose id is this resource's uid (the
 * id the servers are started with). It reads the whole file and checks every checksum
 * and its format before it writes anything; the outcome is JSON in the container's
 * termination message. Pod 0 is scheduled later where this pod put the claim's volume.
 */
export function restoreJob(cluster: KVRaftCluster, source: RestoreSource): KubeObject {
  const problem = backupPathProblem(source.path);
  if (problem !== undefined) throw new SpecError(`KVRaftCluster ${cluster.metadata.name}: the backup's path ${problem}`);
  const labels = { ...selectorLabels(cluster, "restore"), "app.kubernetes.io/managed-by": "kvraft-operator" };
  const spec = cluster.spec;
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: ownedMeta(cluster, restoreJobName(cluster), "restore"),
    spec: {
      backoffLimit: RESTORE_JOB_BACKOFF_LIMIT,
      activeDeadlineSeconds: RESTORE_JOB_DEADLINE_SECONDS,
      template: {
        metadata: { labels },
        spec: {
          ...CLAIM_JOB_POD,
          // The user's placement rules: pod 0 will run where this pod puts its volume.
          ...(spec.affinity === undefined ? {} : { affinity: spec.affinity as V1Affinity }),
          ...(spec.tolerations === undefined ? {} : { tolerations: spec.tolerations as unknown as V1Toleration[] }),
          containers: [restoreContainer(cluster, source)],
          volumes: [
            { name: BACKUP_VOLUME, persistentVolumeClaim: { claimName: source.claimName, readOnly: true } },
            { name: DATA_VOLUME, persistentVolumeClaim: { claimName: dataClaimName(cluster.metadata.name, RESTORED_ORDINAL) } },
          ],
        },
      },
    },
  };
}

function restoreContainer(cluster: KVRaftCluster, source: RestoreSource): V1Container {
  return {
    name: RESTORE_CONTAINER,
    image: cluster.spec.image,
    imagePullPolicy: cluster.spec.imagePullPolicy ?? SPEC_DEFAULTS.imagePullPolicy,
    args: [
      "backup", "restore", `${RESTORE_PATHS.backupDir}/${source.path}`,
      "--data-dir", PATHS.dataDir,
      "--id", String(memberIdOfOrdinal(RESTORED_ORDINAL)),
      "--cluster-id", clusterIdOf(cluster),
      "--termination-message-path", RESTORE_PATHS.terminationMessage,
      "--output", "json",
    ],
    terminationMessagePath: RESTORE_PATHS.terminationMessage,
    terminationMessagePolicy: "File",
    // The restore holds the snapshot in memory as the server will: the server's resources.
    resources: (cluster.spec.resources ?? {}) as V1ResourceRequirements,
    volumeMounts: [
      { name: BACKUP_VOLUME, mountPath: RESTORE_PATHS.backupDir, readOnly: true },
      { name: DATA_VOLUME, mountPath: PATHS.dataDir },
    ],
    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
  };
}
