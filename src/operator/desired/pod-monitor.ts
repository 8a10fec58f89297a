import type { KVRaftCluster, KubeObject } from "../types.js";
import { ownedMeta, selectorLabels } from "./meta.js";
import { objectNames } from "./names.js";
import type { DesiredOptions } from "./options.js";

/** Asked for in the spec and possible: the Prometheus operator's CRD is installed. */
export function monitoringWanted(cluster: KVRaftCluster, options: DesiredOptions): boolean {
  return cluster.spec.monitoring?.podMonitor === true && options.podMonitorAvailable === true;
}

export function podMonitor(cluster: KVRaftCluster): KubeObject {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PodMonitor",
    metadata: ownedMeta(cluster, objectNames(cluster.metadata.name).podMonitor, "monitoring"),
    spec: {
      selector: { matchLabels: selectorLabels(cluster, "server") },
      podMetricsEndpoints: [{ port: "http", path: "/metrics" }],
    },
  };
}
