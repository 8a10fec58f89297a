import { invariant } from "../../assert/invariant.js";
import type { KVRaftCluster, ObjectMeta, OwnerReference } from "../types.js";
import { API_GROUP, API_VERSION, KIND } from "../types.js";

export type Component = "server" | "coordinator" | "config" | "admin-token" | "service-account" | "policy" | "monitoring" | "tls" | "client-tokens" | "backup" | "restore";

export const MANAGED_BY = "kvraft-operator";

/** Labels that select a component's pods: never changed after creation (selectors are immutable). */
export function selectorLabels(cluster: KVRaftCluster, component: Component): Record<string, string> {
  return {
    "app.kubernetes.io/name": "kvraft",
    "app.kubernetes.io/instance": cluster.metadata.name,
    "app.kubernetes.io/component": component,
  };
}

export function commonLabels(cluster: KVRaftCluster, component: Component): Record<string, string> {
  return { ...selectorLabels(cluster, component), "app.kubernetes.io/managed-by": MANAGED_BY };
}

/** The CR owns everything it makes, so deleting it lets the garbage collector remove the rest. */
export function ownerReference(cluster: KVRaftCluster): OwnerReference {
  const uid = clusterUid(cluster);
  return { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: KIND, name: cluster.metadata.name, uid, controller: true, blockOwnerDeletion: true };
}

/** The cluster id the servers carry is the CR's uid: a CR deleted and made again is another cluster. */
export function clusterUid(cluster: KVRaftCluster): string {
  const uid = cluster.metadata.uid;
  invariant(uid !== undefined && uid !== "", () => `KVRaftCluster ${cluster.metadata.name} has no metadata.uid: desired manifests are made from the object the API server returned, not from a local file`);
  return uid;
}

/**
 * The cluster id the members carry now: the CR's uid, until a quorum-loss recovery gave
 * the cluster a new one (status.recovery.clusterId). Ownership stays with the uid.
 */
export function clusterIdOf(cluster: KVRaftCluster): string {
  return cluster.status?.recovery?.clusterId ?? clusterUid(cluster);
}

export function clusterNamespace(cluster: KVRaftCluster): string {
  const namespace = cluster.metadata.namespace;
  invariant(namespace !== undefined && namespace !== "", () => `KVRaftCluster ${cluster.metadata.name} has no namespace (the resource is namespaced)`);
  return namespace;
}

export function ownedMeta(cluster: KVRaftCluster, name: string, component: Component): ObjectMeta {
  return { name, namespace: clusterNamespace(cluster), labels: commonLabels(cluster, component), ownerReferences: [ownerReference(cluster)] };
}
