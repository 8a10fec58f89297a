import { objectNames, PORTS } from "../desired/index.js";
import type { KVRaftCluster, PodView } from "../types.js";

/**
 * The in-cluster default: each pod's stable DNS name through the headless peer Service
 * (published even when not ready, so a cluster still forming can be asked); HTTPS when
 * the cluster serves TLS.
 */
export function defaultAdminTemplate(clusterName: string, clusterDomain: string, tls = false): string {
  return `${tls ? "https" : "http"}://{pod}.${objectNames(clusterName).peerService}.{namespace}.svc.${clusterDomain}:${PORTS.admin}`;
}

/**
 * The admin API's base URLs for a cluster, best first: ready pods, then the others, by
 * ordinal. A template with {pod} or {ordinal} gives one URL per pod; one without gives
 * a single URL (a Service, or a test double). {name} and {namespace} are the cluster's.
 */
export function adminBaseUrls(template: string, cluster: KVRaftCluster, pods: readonly PodView[]): string[] {
  const fill = (text: string): string => text.replaceAll("{name}", cluster.metadata.name).replaceAll("{namespace}", cluster.metadata.namespace ?? "default");
  if (!template.includes("{pod}") && !template.includes("{ordinal}")) return [fill(template)];
  const ordered = [...pods].filter((p) => !p.terminating).sort((a, b) => Number(b.ready) - Number(a.ready) || a.ordinal - b.ordinal);
  return ordered.map((p) => fill(template.replaceAll("{pod}", p.name).replaceAll("{ordinal}", String(p.ordinal))));
}
