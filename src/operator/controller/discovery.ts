import type { KubeRest } from "./kube-rest.js";
import { isNotFound } from "./kube-rest.js";

const RECHECK_MS = 5 * 60_000;

/**
 * Whether the Prometheus operator's PodMonitor kind is served, asked of API discovery
 * (which every authenticated client may read) and remembered for a few minutes: the CRD
 * is installed rarely, and a cluster created before it gets its PodMonitor at the next check.
 */
export class PodMonitorDiscovery {
  private known: { value: boolean; atMs: number } | undefined;

  constructor(private readonly rest: KubeRest) {}

  async available(): Promise<boolean> {
    const now = Date.now();
    if (this.known !== undefined && now - this.known.atMs < RECHECK_MS) return this.known.value;
    let value: boolean;
    try {
      const list = await this.rest.request<{ resources?: { name?: string }[] }>("GET", "/apis/monitoring.coreos.com/v1");
      value = (list.resources ?? []).some((r) => r.name === "podmonitors");
    } catch (error) {
      if (!isNotFound(error)) throw error;
      value = false;
    }
    this.known = { value, atMs: now };
    return value;
  }
}
