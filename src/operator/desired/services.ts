import type { V1ServicePort, V1ServiceSpec } from "@kubernetes/client-node";
import type { KVRaftCluster, KubeObject } from "../types.js";
import { ownedMeta, selectorLabels } from "./meta.js";
import { objectNames, PORTS } from "./names.js";
import { SPEC_DEFAULTS } from "./spec-defaults.js";

const port = (name: keyof typeof PORTS): V1ServicePort => ({ name, port: PORTS[name], targetPort: PORTS[name], protocol: "TCP" });

/**
 * Gives each pod its stable DNS name (NAME-i.NAME-peer). Not-ready pods are published
 * too: a learner catching up, or a member waiting to be re-added, must be reachable.
 */
export function peerService(cluster: KVRaftCluster): KubeObject {
  const spec: V1ServiceSpec = {
    clusterIP: "None",
    publishNotReadyAddresses: true,
    selector: selectorLabels(cluster, "server"),
    ports: [port("peer"), port("http")],
  };
  return { apiVersion: "v1", kind: "Service", metadata: ownedMeta(cluster, objectNames(cluster.metadata.name).peerService, "server"), spec };
}

/** What clients use: ready members only (members forward to the leader). */
export function clientService(cluster: KVRaftCluster): KubeObject {
  const spec: V1ServiceSpec = {
    type: cluster.spec.service?.type ?? SPEC_DEFAULTS.serviceType,
    selector: selectorLabels(cluster, "server"),
    ports: [port("client"), port("http"), port("memcached")],
  };
  return { apiVersion: "v1", kind: "Service", metadata: ownedMeta(cluster, objectNames(cluster.metadata.name).clientService, "server"), spec };
}
