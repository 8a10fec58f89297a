import { SpecError } from "../errors.js";
import { invariant } from "../../assert/invariant.js";
import type { V1Container, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import type { KVRaftBackup } from "../backup-types.js";
import { BACKUP_KIND } from "../backup-types.js";
import type { KVRaftCluster, KubeObject } from "../types.js";
import { API_GROUP, API_VERSION } from "../types.js";
import { selectorLabels } from "./meta.js";
import { objectNames, PATHS, podHost, PORTS, TLS_KEYS } from "./names.js";
import { DEFAULT_CLUSTER_DOMAIN } from "./options.js";
import { CLAIM_JOB_CONTAINER_SECURITY, claimJob } from "./claim-job.js";
import { SPEC_DEFAULTS, tlsSettings } from "./spec-defaults.js";

/** Where the Job's container sees the target claim, and the cluster's CA bundle. */
export const BACKUP_PATHS = { claimDir: "/backup", caDir: "/etc/kvraft/ca", terminationMessage: "/dev/termination-log" } as const;
/** How long `backup take` waits for a leader and retries inside one pod, in ms. */
export const BACKUP_WAIT_MS = 10 * 60 * 1000;
/**
 * Pods a backup Job may start: a pod that fails (evicted, node lost) is tried again, and
 * `take` never leaves a partial file under the final name, so another try is safe.
 */
export const BACKUP_JOB_BACKOFF_LIMIT = 2;
/** The Job gives up after this long whatever its pods do. */
export const BACKUP_JOB_DEADLINE_SECONDS = 2 * 60 * 60;
/** The Job's one container; the controller reads its termination message by this name. */
export const BACKUP_CONTAINER = "backup";
const ADMIN_TOKEN_VOLUME = "admin-token";
const CA_VOLUME = "ca";
const TARGET_VOLUME = "target";

/** The Job of a backup: named after it, so one backup has one Job. */
export function backupJobName(backup: KVRaftBackup): string {
  return `${backup.metadata.name}-backup`;
}

/** The file's path inside the claim: spec.target.path, or `<cluster>/<backup>.kvbackup`. */
export function backupPath(backup: KVRaftBackup): string {
  return backup.spec.target.path ?? `${backup.spec.cluster}/${backup.metadata.name}.kvbackup`;
}

/**
 * Why a path inside the claim cannot be used, or undefined: it must stay inside the
 * claim (relative, no `..`), and name a file. The CRD says the same in CEL; checked here
 * too because the Job's arguments are built from it.
 */
export function backupPathProblem(path: string): string | undefined {
  if (path === "" || path.length > 1024) return "must be a relative file path of 1 to 1024 characters";
  if (path.startsWith("/")) return `must be relative to the claim's root, got "${path}"`;
  if (path.split("/").some((part) => part === ".." || part === "." || part === "")) return `must not contain "..", "." or empty segments, got "${path}"`;
  return undefined;
}

/** The labels of the Job's pod: the server NetworkPolicy lets exactly these reach the admin port. */
export function backupPodLabels(cluster: KVRaftCluster): Record<string, string> {
  return selectorLabels(cluster, "backup");
}

/**
 * A Job running `kvraft backup take` against the cluster's admin API, with the admin token
 * the server pods mount (the same Secret, at the same path), the public CA bundle (the
 * ConfigMap clients use; never the members Secret, which holds their keys), and the
 * target claim. The outcome is JSON in the container's termination message.
 */
export function backupJob(backup: KVRaftBackup, cluster: KVRaftCluster, clusterDomain = DEFAULT_CLUSTER_DOMAIN): KubeObject {
  const path = backupPath(backup);
  const problem = backupPathProblem(path);
  if (problem !== undefined) throw new SpecError(`KVRaftBackup ${backup.metadata.name}: spec.target.path ${problem}`);
  const uid = backup.metadata.uid;
  invariant(uid !== undefined && uid !== "", () => `KVRaftBackup ${backup.metadata.name} has no metadata.uid: the Job is made from the object the API server returned`);
  const names = objectNames(cluster.metadata.name);
  const tls = tlsSettings(cluster.spec).enabled;
  const labels = { ...backupPodLabels(cluster), "kvraft.io/backup": backup.metadata.name };
  const volumes: V1Volume[] = [
    { name: TARGET_VOLUME, persistentVolumeClaim: { claimName: backup.spec.target.claimName } },
    { name: ADMIN_TOKEN_VOLUME, secret: { secretName: names.adminSecret, defaultMode: 0o440 } },
    ...(tls ? [{ name: CA_VOLUME, configMap: { name: names.caConfigMap, items: [{ key: TLS_KEYS.caCert, path: TLS_KEYS.caCert }] } }] : []),
  ];
  return claimJob({
    name: backupJobName(backup), namespace: backup.metadata.namespace, labels,
    owner: { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: BACKUP_KIND, name: backup.metadata.name, uid, controller: true, blockOwnerDeletion: true },
    backoffLimit: BACKUP_JOB_BACKOFF_LIMIT, deadlineSeconds: BACKUP_JOB_DEADLINE_SECONDS,
    container: backupContainer(cluster, path, tls, clusterDomain), volumes,
  });
}

function backupContainer(cluster: KVRaftCluster, path: string, tls: boolean, clusterDomain: string): V1Container {
  const namespace = cluster.metadata.namespace ?? "default";
  const endpoints = Array.from({ length: cluster.spec.replicas }, (_, ordinal) =>
    `${tls ? "https" : "http"}://${podHost(cluster.metadata.name, namespace, ordinal, clusterDomain)}:${PORTS.admin}`);
  const mounts: V1VolumeMount[] = [
    { name: TARGET_VOLUME, mountPath: BACKUP_PATHS.claimDir },
    { name: ADMIN_TOKEN_VOLUME, mountPath: PATHS.adminTokenDir, readOnly: true },
    ...(tls ? [{ name: CA_VOLUME, mountPath: BACKUP_PATHS.caDir, readOnly: true }] : []),
  ];
  return {
    name: BACKUP_CONTAINER,
    image: cluster.spec.image,
    imagePullPolicy: cluster.spec.imagePullPolicy ?? SPEC_DEFAULTS.imagePullPolicy,
    args: [
      "backup", "take", "--to", `${BACKUP_PATHS.claimDir}/${path}`,
      "--endpoints", endpoints.join(","),
      "--token-file", `${PATHS.adminTokenDir}/${PATHS.adminTokenKey}`,
      ...(tls ? ["--cacert", `${BACKUP_PATHS.caDir}/${TLS_KEYS.caCert}`] : []),
      "--wait", String(BACKUP_WAIT_MS),
      "--termination-message-path", BACKUP_PATHS.terminationMessage,
      "--output", "json",
    ],
    terminationMessagePath: BACKUP_PATHS.terminationMessage,
    terminationMessagePolicy: "File",
    volumeMounts: mounts,
    securityContext: CLAIM_JOB_CONTAINER_SECURITY,
  };
}
