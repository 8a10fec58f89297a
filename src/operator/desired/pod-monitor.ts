import type { KVRaftCluster, KubeObject } from "../types.js";
import { clusterNamespace, ownedMeta, selectorLabels } from "./meta.js";
import { objectNames, TLS_KEYS } from "./names.js";
import type { DesiredOptions } from "./options.js";
import { tlsSettings } from "./spec-defaults.js";

/** Asked for in the spec and possible: the Prometheus operator's CRD is installed. */
export function monitoringWanted(cluster: KVRaftCluster, options: DesiredOptions): boolean {
  return cluster.spec.monitoring?.podMonitor === true && options.podMonitorAvailable === true;
}

/**
 * Over HTTPS when the cluster serves TLS: Prometheus trusts the cluster's CA bundle (the
 * public ConfigMap) and checks the client Service's name, which every member's
 * certificate carries (it scrapes pod IPs, which no certificate names).
 */
export function podMonitor(cluster: KVRaftCluster): KubeObject {
  const names = objectNames(cluster.metadata.name);
  const tls = tlsSettings(cluster.spec).enabled
    ? { scheme: "https", tlsConfig: { ca: { configMap: { name: names.caConfigMap, key: TLS_KEYS.caCert } }, serverName: `${names.clientService}.${clusterNamespace(cluster)}.svc` } }
    : {};
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PodMonitor",
    metadata: ownedMeta(cluster, objectNames(cluster.metadata.name).podMonitor, "monitoring"),
    spec: {
      selector: { matchLabels: selectorLabels(cluster, "server") },
      podMetricsEndpoints: [{ port: "http", path: "/metrics", ...tls }],
    },
  };
}
