import { PatchStrategy } from "@kubernetes/client-node";
import type { ClusterStatus, KVRaftCluster, KubeObject, ObjectMeta } from "../types.js";
import { withAppliedHash } from "./apply-decision.js";
import type { KubeRest } from "./kube-rest.js";
import { isNotFound } from "./kube-rest.js";
import { CLUSTER_TYPE, objectPath, type ResourceType, resourceTypeOf } from "./resources.js";

/** The operator's name in every object's managedFields. */
export const FIELD_MANAGER = "kvraft-operator";

const applyOptions = { contentType: PatchStrategy.ServerSideApply, query: { fieldManager: FIELD_MANAGER, force: "true" } } as const;

/**
 * Writes by server-side apply: the operator states the fields it owns and the API server
 * merges them, so fields others set (the HPA, a user's annotation, defaults) survive.
 * `force` takes over a field another manager changed: the operator's intent wins, and
 * the next reconcile would otherwise fight forever over a conflict.
 */
export async function applyObject(rest: KubeRest, desired: KubeObject): Promise<KubeObject> {
  const t = resourceTypeOf(desired.apiVersion, desired.kind);
  return rest.request<KubeObject>("PATCH", objectPath(t, desired.metadata.name, desired.metadata.namespace), { ...applyOptions, body: withAppliedHash(desired) });
}

/** The cluster's status, through the status subresource (the spec is the user's). */
export async function applyStatus(rest: KubeRest, cluster: KVRaftCluster, status: ClusterStatus): Promise<KVRaftCluster> {
  return applyStatusOf<KVRaftCluster>(rest, CLUSTER_TYPE, cluster.metadata, status);
}

/** A custom resource's status, through its status subresource, by server-side apply. */
export async function applyStatusOf<T>(rest: KubeRest, type: ResourceType, meta: ObjectMeta, status: object): Promise<T> {
  const path = `${objectPath(type, meta.name, meta.namespace)}/status`;
  return rest.request<T>("PATCH", path, {
    ...applyOptions,
    // From the type, not the cached object: items of a LIST may come without apiVersion and kind.
    body: { apiVersion: type.apiVersion, kind: type.kind, metadata: { name: meta.name, namespace: meta.namespace }, status },
  });
}

/** Deletes an object; one already gone is no error (the calls must be safe to repeat). */
export async function deleteObject(rest: KubeRest, apiVersion: string, kind: string, name: string, namespace: string, uid?: string): Promise<void> {
  const t = resourceTypeOf(apiVersion, kind);
  try {
    // The uid precondition: never delete a newer object of the same name (a pod the StatefulSet already replaced).
    await rest.request("DELETE", objectPath(t, name, namespace), { body: { apiVersion: "v1", kind: "DeleteOptions", ...(uid === undefined ? {} : { preconditions: { uid } }) } });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}
