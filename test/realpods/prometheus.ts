/**
 * A real Prometheus (built from its Go module, tools/go/prometheus: Debian's package is built
 * without Kubernetes discovery) beside the dev cluster, discovering the pods with
 * kubernetes_sd_configs through the apiserver as an in-cluster Prometheus would, and
 * scraping every container port named `http` (servers, coordinator: HTTPS with the
 * cluster's CA) or `metrics` (the operator) at /metrics. Pod addresses are reachable from the machine (node-network.ts).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { freeLoopbackPorts } from "../../src/bench/cluster/ports.js";
import { RigProcess } from "../../src/devcluster/process.js";
import { waitFor } from "../support/wait.js";

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

export class Prometheus {
  private constructor(private readonly process: RigProcess, readonly url: string) {}

  static async start(binary: string, dir: string, kubeconfig: string, tls: ScrapeTls): Promise<Prometheus> {
    mkdirSync(join(dir, "data"), { recursive: true });
    const config = join(dir, "prometheus.yml");
    writeFileSync(config, prometheusConfig(kubeconfig, tls));
    const [port] = await freeLoopbackPorts(1) as [number];
    const proc = new RigProcess("prometheus", binary, [
      `--config.file=${config}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`,
    ], join(dir, "prometheus.log"));
    const prometheus = new Prometheus(proc, `http://127.0.0.1:${port}`);
    await waitFor("Prometheus to be ready", async () => (await fetch(`${prometheus.url}/-/ready`)).ok || undefined, 60_000, 250,
      () => proc.assertAlive());
    return prometheus;
  }

  /** Instant query; the result's series (empty: no data). */
  async query(expr: string): Promise<unknown[]> {
    const response = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(expr)}`, { signal: AbortSignal.timeout(10_000) });
    const body = await response.json() as { status: string; error?: string; data?: { result: unknown[] } };
    if (body.status !== "success") throw new Error(`Prometheus refused ${expr}: ${body.error ?? response.status}`);
    return body.data?.result ?? [];
  }

  /** How many scrape targets are up, by pod. */
  async upTargets(): Promise<string[]> {
    const series = await this.query("up == 1") as { metric: { pod?: string } }[];
    return series.map((s) => s.metric.pod ?? "?").sort();
  }

  stop(): Promise<void> {
    return this.process.stop(5_000);
  }
}
