import type { V1NetworkPolicyPeer, V1NetworkPolicyPort, V1PodDisruptionBudgetSpec } from "@kubernetes/client-node";
import type { KVRaftCluster, KubeObject } from "../types.js";
import { clusterNamespace, ownedMeta, selectorLabels } from "./meta.js";
import { objectNames, PORTS } from "./names.js";
import type { DesiredOptions } from "./options.js";
import { DEFAULT_MONITORING_NAMESPACE, HTTP_CLIENT_LABEL } from "./options.js";
import { monitoringWanted } from "./pod-monitor.js";

/** A voluntary disruption (a node drain) takes at most one member at a time. */
export function podDisruptionBudget(cluster: KVRaftCluster): KubeObject {
  const spec: V1PodDisruptionBudgetSpec = { maxUnavailable: 1, selector: { matchLabels: selectorLabels(cluster, "server") } };
  return { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: ownedMeta(cluster, objectNames(cluster.metadata.name).podDisruptionBudget, "policy"), spec };
}

const namespaceNamed = (name: string): V1NetworkPolicyPeer["namespaceSelector"] => ({ matchLabels: { "kubernetes.io/metadata.name": name } });
const tcp = (...ports: number[]): V1NetworkPolicyPort[] => ports.map((port) => ({ protocol: "TCP", port }));

/** As the API serialises it (the client library's model names this field `_from`). */
interface IngressRule { readonly from?: V1NetworkPolicyPeer[]; readonly ports: V1NetworkPolicyPort[] }

/**
 * Only members reach the peer (Raft) port. Only the operator and members (a follower
 * proxies an admin call to the leader) reach the admin port, which also wants the token.
 * The HTTP port (JSON API, /metrics): members (forwarding to the leader), pods of this
 * namespace labelled kvraft.io/http-client=true, and Prometheus when monitoring is on.
 * The binary and memcached client ports are open.
 */
export function networkPolicy(cluster: KVRaftCluster, options: DesiredOptions): KubeObject {
  const members: V1NetworkPolicyPeer = { podSelector: { matchLabels: selectorLabels(cluster, "server") } };
  const operator: V1NetworkPolicyPeer = { namespaceSelector: namespaceNamed(options.operator.namespace), podSelector: { matchLabels: { ...options.operator.podLabels } } };
  const httpClients: V1NetworkPolicyPeer = { namespaceSelector: namespaceNamed(clusterNamespace(cluster)), podSelector: { matchLabels: { [HTTP_CLIENT_LABEL]: "true" } } };
  const httpFrom = [members, httpClients];
  if (monitoringWanted(cluster, options)) httpFrom.push({ namespaceSelector: namespaceNamed(options.monitoringNamespace ?? DEFAULT_MONITORING_NAMESPACE) });
  const ingress: IngressRule[] = [
    { from: [members], ports: tcp(PORTS.peer) },
    { from: httpFrom, ports: tcp(PORTS.http) },
    { from: [members, operator], ports: tcp(PORTS.admin) },
    { ports: tcp(PORTS.client, PORTS.memcached) },
  ];
  const spec = {
    podSelector: { matchLabels: selectorLabels(cluster, "server") },
    policyTypes: ["Ingress"],
    ingress,
  };
  return { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: ownedMeta(cluster, objectNames(cluster.metadata.name).networkPolicy, "policy"), spec };
}
