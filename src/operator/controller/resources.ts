import { invariant } from "../../assert/invariant.js";
import { BACKUP_KIND, BACKUP_PLURAL } from "../backup-types.js";
import { SCHEDULED_BACKUP_KIND, SCHEDULED_BACKUP_PLURAL } from "../scheduled-backup-types.js";
import { API_GROUP, API_VERSION, PLURAL } from "../types.js";

/** Where a kind lives in the REST API. */
export interface ResourceType {
  readonly apiVersion: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

const type = (apiVersion: string, kind: string, plural: string, namespaced = true): ResourceType => ({ apiVersion, kind, plural, namespaced });

export const CLUSTER_TYPE = type(`${API_GROUP}/${API_VERSION}`, "KVRaftCluster", PLURAL);
export const BACKUP_TYPE = type(`${API_GROUP}/${API_VERSION}`, BACKUP_KIND, BACKUP_PLURAL);
export const SCHEDULED_BACKUP_TYPE = type(`${API_GROUP}/${API_VERSION}`, SCHEDULED_BACKUP_KIND, SCHEDULED_BACKUP_PLURAL);
export const JOB_TYPE = type("batch/v1", "Job", "jobs");

/**
 * Every kind the operator reads or writes. The desired manifests may only use these:
 * an unknown kind is a programming error, reported by name (see resourceTypeOf).
 */
export const RESOURCE_TYPES: readonly ResourceType[] = [
  CLUSTER_TYPE,
  BACKUP_TYPE,
  SCHEDULED_BACKUP_TYPE,
  JOB_TYPE,
  type("v1", "ConfigMap", "configmaps"),
  type("v1", "Secret", "secrets"),
  type("v1", "Service", "services"),
  type("v1", "ServiceAccount", "serviceaccounts"),
  type("v1", "Pod", "pods"),
  type("v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
  type("v1", "Event", "events"),
  type("apps/v1", "StatefulSet", "statefulsets"),
  type("apps/v1", "Deployment", "deployments"),
  type("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets"),
  type("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies"),
  type("rbac.authorization.k8s.io/v1", "Role", "roles"),
  type("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings"),
  type("coordination.k8s.io/v1", "Lease", "leases"),
  type("monitoring.coreos.com/v1", "PodMonitor", "podmonitors"),
  type("apiextensions.k8s.io/v1", "CustomResourceDefinition", "customresourcedefinitions", false),
];

export function resourceTypeOf(apiVersion: string, kind: string): ResourceType {
  const found = RESOURCE_TYPES.find((t) => t.apiVersion === apiVersion && t.kind === kind);
  invariant(found !== undefined, () => `the operator does not know the REST path of ${apiVersion} ${kind}: add it to RESOURCE_TYPES`);
  return found;
}

function groupPrefix(apiVersion: string): string {
  return apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/** The collection path; without a namespace, across all namespaces. */
export function collectionPath(t: ResourceType, namespace?: string): string {
  if (!t.namespaced || namespace === undefined) return `${groupPrefix(t.apiVersion)}/${t.plural}`;
  return `${groupPrefix(t.apiVersion)}/namespaces/${encodeURIComponent(namespace)}/${t.plural}`;
}

export function objectPath(t: ResourceType, name: string, namespace?: string): string {
  invariant(!t.namespaced || namespace !== undefined, () => `${t.kind} ${name} is namespaced: a namespace is required`);
  return `${collectionPath(t, namespace)}/${encodeURIComponent(name)}`;
}
