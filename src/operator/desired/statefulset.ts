import type { V1PersistentVolumeClaim, V1PersistentVolumeClaimSpec, V1StatefulSetSpec } from "@kubernetes/client-node";
import type { KVRaftCluster, KubeObject } from "../types.js";
import { commonLabels, ownedMeta, selectorLabels } from "./meta.js";
import { objectNames } from "./names.js";
import type { DesiredOptions } from "./options.js";
import { foundingReplicas } from "./founding.js";
import { DATA_VOLUME, serverPodTemplate } from "./server-pod.js";
import { retention, SPEC_DEFAULTS } from "./spec-defaults.js";

/** The claim the StatefulSet makes for pod `ordinal` from its template (and the restore Job makes for pod 0 first). */
export function dataClaimName(cluster: string, ordinal: number): string {
  return `${DATA_VOLUME}-${objectNames(cluster).statefulSet}-${ordinal}`;
}

export function dataClaimSpec(cluster: KVRaftCluster): V1PersistentVolumeClaimSpec {
  const storage = cluster.spec.storage;
  if (storage.volumeClaimTemplate !== undefined) return storage.volumeClaimTemplate as V1PersistentVolumeClaimSpec;
  return {
    accessModes: ["ReadWriteOnce"],
    resources: { requests: { storage: storage.size || SPEC_DEFAULTS.storageSize } },
    ...(storage.storageClassName === undefined ? {} : { storageClassName: storage.storageClassName }),
  };
}

/**
 * The servers. Its replicas are the planner's (ScaleStatefulSet), never spec.replicas
 * directly: membership changes first. OnDelete: the StatefulSet controller replaces no
 * pod by itself; the planner deletes them one at a time, followers first (highest
 * ordinal first) and the leader last, after it handed leadership over.
 */
export function serverStatefulSet(cluster: KVRaftCluster, options: DesiredOptions): KubeObject {
  const names = objectNames(cluster.metadata.name);
  const spec: V1StatefulSetSpec = {
    replicas: options.serverReplicas ?? options.foundingMembers ?? foundingReplicas(cluster),
    serviceName: names.peerService,
    // Members start together: the founding ones must all be up to elect a leader.
    podManagementPolicy: "Parallel",
    selector: { matchLabels: selectorLabels(cluster, "server") },
    updateStrategy: { type: "OnDelete" },
    persistentVolumeClaimRetentionPolicy: retention(cluster.spec),
    template: serverPodTemplate(cluster, options),
    volumeClaimTemplates: (options.liveVolumeClaimTemplates as V1PersistentVolumeClaim[] | undefined)
      ?? [{ metadata: { name: DATA_VOLUME, labels: commonLabels(cluster, "server") }, spec: dataClaimSpec(cluster) }],
  };
  return { apiVersion: "apps/v1", kind: "StatefulSet", metadata: ownedMeta(cluster, names.statefulSet, "server"), spec };
}
