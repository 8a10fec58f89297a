/**
 * The configuration of a real Prometheus (test/support/prometheus.ts, built from its Go
 * module: Debian's package is built without Kubernetes discovery) beside the dev cluster, discovering the pods with
 * kubernetes_sd_configs through the apiserver as an in-cluster Prometheus would, and
 * scraping every container port named `http` (servers, coordinator: HTTPS with the
 * cluster's CA) or `metrics` (the operator) at /metrics. Pod addresses are reachable from the machine (node-network.ts).
 */
import { stringify } from "yaml";

/** Fast enough that rate() over a few scrapes has data within a minute of a test. */
export const SCRAPE_INTERVAL_SECONDS = 2;

/**
 * What the scrapes need now that the cluster serves TLS: the CA bundle (ConfigMap NAME-ca)
 * and the names the certificates carry, since Prometheus scrapes pod IPs, which none does.
 */
export interface ScrapeTls {
  readonly caFile: string;
  /** Every member certificate carries the client Service's name. */
  readonly serverName: string;
  /** The coordinator's certificate carries its Service's name. */
  readonly coordinatorName: string;
}

export function prometheusConfig(kubeconfig: string, tls: ScrapeTls): string {
  const pods = (job: string, component: string, portName: string, scheme: "http" | "https", serverName?: string): Record<string, unknown> => ({
    job_name: job,
    scheme,
    ...(serverName === undefined ? {} : { tls_config: { ca_file: tls.caFile, server_name: serverName } }),
    kubernetes_sd_configs: [{ role: "pod", kubeconfig_file: kubeconfig }],
    relabel_configs: [
      { source_labels: ["__meta_kubernetes_pod_label_app_kubernetes_io_component"], regex: component, action: "keep" },
      { source_labels: ["__meta_kubernetes_pod_container_port_name"], regex: portName, action: "keep" },
      { source_labels: ["__meta_kubernetes_pod_phase"], regex: "Running", action: "keep" },
      { source_labels: ["__meta_kubernetes_namespace"], target_label: "namespace" },
      { source_labels: ["__meta_kubernetes_pod_name"], target_label: "pod" },
    ],
  });
  return stringify({
    global: { scrape_interval: `${SCRAPE_INTERVAL_SECONDS}s`, evaluation_interval: `${SCRAPE_INTERVAL_SECONDS}s` },
    scrape_configs: [
      pods("kvraft-servers", "server", "http", "https", tls.serverName),
      pods("kvraft-coordinators", "coordinator", "http", "https", tls.coordinatorName),
      // The operator's own metrics port is plain HTTP (it holds no data).
      pods("kvraft-operator", ".*", "metrics", "http"),
    ],
  });
}
