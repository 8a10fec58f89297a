import { invariant } from "../../assert/invariant.js";
import type { KVRaftCluster, KubeObject } from "../types.js";
import { memberIdOfOrdinal } from "../types.js";
import { clusterNamespace, ownedMeta } from "./meta.js";
import { CONFIG_KEYS, objectNames, PATHS, podHost, PORTS } from "./names.js";
import type { DesiredOptions } from "./options.js";
import { DEFAULT_CLUSTER_DOMAIN } from "./options.js";
import { foundingReplicas } from "./founding.js";

/**
 * The first configuration founds the cluster with `new`; once status says it formed,
 * every pod starts with `existing`, so a pod whose volume was lost waits, non-voting,
 * to be re-added instead of founding a second history.
 */
export function initialClusterState(cluster: KVRaftCluster): "new" | "existing" {
  return cluster.status?.formed === true ? "existing" : "new";
}

/**
 * The members' peer addresses each pod starts with. Before the cluster formed this is
 * exactly the founding configuration; afterwards every ordinal the cluster has or is
 * growing to, so a pod (re)starting can reach whoever leads.
 */
export function peerList(cluster: KVRaftCluster, options: DesiredOptions): string {
  const founding = options.foundingMembers ?? foundingReplicas(cluster);
  const count = initialClusterState(cluster) === "new"
    ? founding
    : Math.max(cluster.spec.replicas, options.serverReplicas ?? 0, cluster.status?.replicas ?? 0, ...(cluster.status?.members ?? []).map((m) => m.id));
  const domain = options.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
  const namespace = clusterNamespace(cluster);
  return Array.from({ length: count }, (_, ordinal) =>
    `${memberIdOfOrdinal(ordinal)}=${podHost(cluster.metadata.name, namespace, ordinal, domain)}:${PORTS.peer}`).join(",");
}

/** Read as environment variables at pod start (not part of the pod template, so changing it restarts nothing). */
export function configMap(cluster: KVRaftCluster, options: DesiredOptions): KubeObject {
  const recovery = cluster.status?.recovery;
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: ownedMeta(cluster, objectNames(cluster.metadata.name).configMap, "config"),
    data: {
      [CONFIG_KEYS.peers]: peerList(cluster, options), [CONFIG_KEYS.initialClusterState]: initialClusterState(cluster),
      ...(recovery?.phase === "Rebuilding" ? { [CONFIG_KEYS.recoverFromMember]: String(recovery.fromMember) } : {}),
    },
  };
}

export function adminTokenSecret(cluster: KVRaftCluster, options: DesiredOptions): KubeObject {
  invariant(options.adminToken.trim() !== "", () => "the admin token is empty: the controller must generate one (for example 32 random bytes, hex) before applying the Secret");
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: ownedMeta(cluster, objectNames(cluster.metadata.name).adminSecret, "admin-token"),
    type: "Opaque",
    // data, not stringData: stringData is never read back, so applying it again would never look settled.
    data: { [PATHS.adminTokenKey]: Buffer.from(options.adminToken, "utf8").toString("base64") },
  };
}

/** The servers' own account: they call no Kubernetes API, so no token is mounted. */
export function serverServiceAccount(cluster: KVRaftCluster): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: ownedMeta(cluster, objectNames(cluster.metadata.name).serviceAccount, "service-account"),
    automountServiceAccountToken: false,
  };
}
