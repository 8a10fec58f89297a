/**
 * A real Prometheus (built from its Go module, tools/go/prometheus: Debian's package is built
 * without Kubernetes discovery) beside the dev cluster, discovering the pods with
 * kubernetes_sd_configs through the apiserver as an in-cluster Prometheus would, and
 * scraping every container port named `http` (servers, coordinator) or `metrics` (the
 * operator) at /metrics. Pod addresses are reachable from the machine (node-network.ts).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { freeLoopbackPorts } from "../../src/bench/cluster/ports.js";
import { RigProcess } from "../../src/devcluster/process.js";
import { waitFor } from "../support/wait.js";

/** Fast enough that rate() over a few scrapes has data within a minute of a test. */
export const SCRAPE_INTERVAL_SECONDS = 2;

export function prometheusConfig(kubeconfig: string): string {
  return stringify({
    global: { scrape_interval: `${SCRAPE_INTERVAL_SECONDS}s`, evaluation_interval: `${SCRAPE_INTERVAL_SECONDS}s` },
    scrape_configs: [{
      job_name: "kvraft-pods",
      kubernetes_sd_configs: [{ role: "pod", kubeconfig_file: kubeconfig }],
      relabel_configs: [
        { source_labels: ["__meta_kubernetes_pod_container_port_name"], regex: "http|metrics", action: "keep" },
        { source_labels: ["__meta_kubernetes_pod_phase"], regex: "Running", action: "keep" },
        { source_labels: ["__meta_kubernetes_namespace"], target_label: "namespace" },
        { source_labels: ["__meta_kubernetes_pod_name"], target_label: "pod" },
      ],
    }],
  });
}

export class Prometheus {
  private constructor(private readonly process: RigProcess, readonly url: string) {}

  static async start(binary: string, dir: string, kubeconfig: string): Promise<Prometheus> {
    mkdirSync(join(dir, "data"), { recursive: true });
    const config = join(dir, "prometheus.yml");
    writeFileSync(config, prometheusConfig(kubeconfig));
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
