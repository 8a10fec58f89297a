import type { V1LabelSelector, V1NetworkPolicyPeer, V1NetworkPolicyPort, V1PodDisruptionBudgetSpec } from "@kubernetes/client-node";
import type { KVRaftCluster, KubeObject, NamespaceSource } from "../types.js";
import { clusterNamespace, ownedMeta, selectorLabels } from "./meta.js";
import { objectNames, PORTS } from "./names.js";
import type { DesiredOptions } from "./options.js";
import { HTTP_CLIENT_LABEL } from "./options.js";
import { monitoringSettings } from "./monitoring.js";
import { networkPolicyEnabled } from "./spec-defaults.js";

/** A voluntary disruption (a node drain) takes at most one member at a time. */
export function podDisruptionBudget(cluster: KVRaftCluster): KubeObject {
  const spec: V1PodDisruptionBudgetSpec = { maxUnavailable: 1, selector: { matchLabels: selectorLabels(cluster, "server") } };
  return { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: ownedMeta(cluster, objectNames(cluster.metadata.name).podDisruptionBudget, "policy"), spec };
}

const namespaceNamed = (name: string): V1LabelSelector => ({ matchLabels: { "kubernetes.io/metadata.name": name } });
const tcp = (...ports: number[]): V1NetworkPolicyPort[] => ports.map((port) => ({ protocol: "TCP", port }));

/** As the API serialises it (the client library's model names this field `_from`). */
interface IngressRule { readonly from: V1NetworkPolicyPeer[]; readonly ports: V1NetworkPolicyPort[] }

/**
 * One peer per namespace source, by name or labels; with podLabels, only those pods there
 * (a namespaceSelector and a podSelector in one peer must both match).
 */
function peersIn(namespaces: readonly NamespaceSource[], podLabels: Readonly<Record<string, string>> | undefined): V1NetworkPolicyPeer[] {
  return namespaces.map((n) => ({
    namespaceSelector: n.name !== undefined ? namespaceNamed(n.name) : { matchLabels: { ...n.matchLabels } },
    ...(podLabels === undefined ? {} : { podSelector: { matchLabels: { ...podLabels } } }),
  }));
}

/**
 * The clients spec.networkPolicy allows: pods with allowedPodLabels (any pod without)
 * in each of allowedNamespaces, by name or labels; without any, the cluster's own
 * namespace.
 */
export function clientPeers(cluster: KVRaftCluster): V1NetworkPolicyPeer[] {
  const wanted = cluster.spec.networkPolicy;
  const given = wanted?.allowedNamespaces ?? [];
  return peersIn(given.length === 0 ? [{ name: clusterNamespace(cluster) }] : given, { ...wanted?.allowedPodLabels });
}

/** Prometheus's pods, as spec.monitoring names them (none when nothing scrapes): they reach only the ports serving /metrics. */
function scraperPeers(cluster: KVRaftCluster, options: DesiredOptions): V1NetworkPolicyPeer[] {
  const monitoring = monitoringSettings(cluster.spec, options);
  return peersIn(monitoring.scrapeNamespaces, monitoring.scrapePodLabels);
}

function policy(cluster: KVRaftCluster, name: string, component: "server" | "coordinator", ingress: IngressRule[]): KubeObject {
  const spec = { podSelector: { matchLabels: selectorLabels(cluster, component) }, policyTypes: ["Ingress"], ingress };
  return { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: ownedMeta(cluster, name, "policy"), spec };
}

/**
 * The servers' ports. Only members reach the peer (Raft) port. Only members (a follower
 * proxies an admin call to the leader), the operator and the cluster's backup Jobs' pods
 * (they stream the snapshot; desired/backup-job.ts) reach the admin port, which also
 * wants the token. The client ports (binary, memcached, HTTP: the JSON API and /metrics)
 * admit members and the clients spec.networkPolicy allows; HTTP also admits pods of the
 * cluster's namespace labelled kvraft.io/http-client=true (the chart's NOTES use it), and
 * the scrapers spec.monitoring names.
 */
export function serverNetworkPolicy(cluster: KVRaftCluster, options: DesiredOptions): KubeObject {
  const members: V1NetworkPolicyPeer = { podSelector: { matchLabels: selectorLabels(cluster, "server") } };
  const operator: V1NetworkPolicyPeer = { namespaceSelector: namespaceNamed(options.operator.namespace), podSelector: { matchLabels: { ...options.operator.podLabels } } };
  const backupJobs: V1NetworkPolicyPeer = { podSelector: { matchLabels: selectorLabels(cluster, "backup") } };
  const clients = clientPeers(cluster);
  const httpClients: V1NetworkPolicyPeer = { namespaceSelector: namespaceNamed(clusterNamespace(cluster)), podSelector: { matchLabels: { [HTTP_CLIENT_LABEL]: "true" } } };
  const httpFrom = [members, ...clients, httpClients, ...scraperPeers(cluster, options)];
  return policy(cluster, objectNames(cluster.metadata.name).networkPolicy, "server", [
    { from: [members], ports: tcp(PORTS.peer) },
    { from: [members, operator, backupJobs], ports: tcp(PORTS.admin) },
    { from: [members, ...clients], ports: tcp(PORTS.client, PORTS.memcached) },
    { from: httpFrom, ports: tcp(PORTS.http) },
  ]);
}

/**
 * The coordinator's one port: the servers register and heartbeat there, the clients
 * spec.networkPolicy allows ask it who leads, and the scrapers spec.monitoring names read
 * its /metrics. Made whether or not a coordinator runs (it then selects no pod), so one
 * left running is never left open.
 */
export function coordinatorNetworkPolicy(cluster: KVRaftCluster, options: DesiredOptions): KubeObject {
  const members: V1NetworkPolicyPeer = { podSelector: { matchLabels: selectorLabels(cluster, "server") } };
  return policy(cluster, objectNames(cluster.metadata.name).coordinatorNetworkPolicy, "coordinator", [
    { from: [members, ...clientPeers(cluster), ...scraperPeers(cluster, options)], ports: tcp(PORTS.coordinator) },
  ]);
}

/** Both policies, or none when spec.networkPolicy.enabled is false (the controller then deletes the ones it made). */
export function networkPolicies(cluster: KVRaftCluster, options: DesiredOptions): KubeObject[] {
  return networkPolicyEnabled(cluster.spec) ? [serverNetworkPolicy(cluster, options), coordinatorNetworkPolicy(cluster, options)] : [];
}
