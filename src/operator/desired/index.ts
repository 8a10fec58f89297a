import type { KVRaftCluster, KubeObject } from "../types.js";
import { clientTokensSecret } from "./client-tokens.js";
import { adminTokenSecret, configMap, serverServiceAccount } from "./config.js";
import { coordinatorDeployment, coordinatorService } from "./coordinator.js";
import type { DesiredOptions } from "./options.js";
import { podMonitors } from "./pod-monitor.js";
import { networkPolicies, podDisruptionBudget } from "./policies.js";
import { clientService, peerService } from "./services.js";
import { coordinatorReplicas, tlsSettings, withRequiredDefaults } from "./spec-defaults.js";
import { serverStatefulSet } from "./statefulset.js";
import { tlsObjects } from "./tls.js";

export type { ClientTokens, DesiredOptions, TlsPems } from "./options.js";
export { HTTP_CLIENT_LABEL } from "./options.js";
export { CLIENT_TOKEN_KEYS, CONFIG_KEYS, objectNames, PATHS, podName, PORTS } from "./names.js";
export { clusterIdOf, commonLabels, MANAGED_BY, ownerReference, selectorLabels } from "./meta.js";
export { initialClusterState, peerList } from "./config.js";

/**
 * Everything a KVRaftCluster needs, as the API should hold it: a pure function of the CR
 * (after the API server's defaults) and what the controller knows. Apply order matters
 * only for pods (ConfigMap and Secret before the StatefulSet): this list is in that order.
 */
export function desiredObjects(asGiven: KVRaftCluster, options: DesiredOptions): KubeObject[] {
  const cluster: KVRaftCluster = { ...asGiven, spec: withRequiredDefaults(asGiven.spec) };
  const objects: KubeObject[] = [
    serverServiceAccount(cluster),
    configMap(cluster, options),
    adminTokenSecret(cluster, options),
    clientTokensSecret(cluster, options),
    peerService(cluster),
    clientService(cluster),
  ];
  // Before the StatefulSet: its pods mount the members Secret.
  if (tlsSettings(cluster.spec).enabled) objects.push(...tlsObjects(cluster, options));
  if (coordinatorReplicas(cluster.spec) > 0) objects.push(coordinatorDeployment(cluster, options), coordinatorService(cluster));
  objects.push(serverStatefulSet(cluster, options), podDisruptionBudget(cluster), ...networkPolicies(cluster, options));
  objects.push(...podMonitors(cluster, options));
  return objects;
}
