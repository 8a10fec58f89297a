import type { KVRaftCluster, KubeObject } from "../types.js";
import type { Component } from "./meta.js";
import { clusterNamespace, commonLabels, ownedMeta, selectorLabels } from "./meta.js";
import { monitoringSettings } from "./monitoring.js";
import { objectNames, TLS_KEYS } from "./names.js";
import type { DesiredOptions } from "./options.js";
import { coordinatorReplicas, tlsSettings } from "./spec-defaults.js";

/**
 * One PodMonitor per component: the servers and the coordinator both serve /metrics on
 * their port named `http`, but with TLS each presents a certificate for its own Service,
 * and a PodMonitor's endpoint checks one name for every pod it selects.
 *
 * Over HTTPS when the cluster serves TLS: Prometheus trusts the cluster's CA bundle (the
 * public ConfigMap) and checks the Service's name, which the certificates carry (it
 * scrapes pod IPs, which no certificate names). It presents no certificate: neither the
 * servers' /metrics nor the coordinator's asks for one.
 */
function podMonitor(cluster: KVRaftCluster, name: string, component: Component, service: string, labels: Readonly<Record<string, string>>): KubeObject {
  const names = objectNames(cluster.metadata.name);
  const tls = tlsSettings(cluster.spec).enabled
    ? { scheme: "https", tlsConfig: { ca: { configMap: { name: names.caConfigMap, key: TLS_KEYS.caCert } }, serverName: `${service}.${clusterNamespace(cluster)}.svc` } }
    : {};
  const meta = ownedMeta(cluster, name, "monitoring");
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PodMonitor",
    // The spec's labels (a Prometheus's podMonitorSelector) never replace the operator's own (checked in monitoringSettings).
    metadata: { ...meta, labels: { ...labels, ...commonLabels(cluster, "monitoring") } },
    spec: {
      selector: { matchLabels: selectorLabels(cluster, component) },
      podMetricsEndpoints: [{ port: "http", path: "/metrics", ...tls }],
    },
  };
}

/**
 * The servers' PodMonitor, and the coordinator's while one runs: only when spec.monitoring
 * asks for them and the Prometheus operator's CRD is installed (spec.monitoring is checked
 * either way: it also shapes the NetworkPolicies).
 */
export function podMonitors(cluster: KVRaftCluster, options: DesiredOptions): KubeObject[] {
  const monitoring = monitoringSettings(cluster.spec, options);
  if (!monitoring.podMonitors) return [];
  const names = objectNames(cluster.metadata.name);
  const labels = monitoring.podMonitorLabels;
  const servers = podMonitor(cluster, names.podMonitor, "server", names.clientService, labels);
  if (coordinatorReplicas(cluster.spec) === 0) return [servers];
  return [servers, podMonitor(cluster, names.coordinatorPodMonitor, "coordinator", names.coordinator, labels)];
}
