import { collectDefaultMetrics, Gauge, type Registry } from "prom-client";
import { VERSION } from "./version.js";

/** The processes that export /metrics; each one's process and Node.js metrics carry its name. */
export type MetricsComponent = "server" | "coord" | "operator";

/**
 * What every KVRaft process exports beside its own metrics: prom-client's process and
 * Node.js metrics (CPU, memory, GC, event-loop lag, handles), named kvraft_<component>_...
 * so that one Prometheus scraping servers, coordinators and operators keeps them apart,
 * and kvraft_build_info, which says which version runs where (1, with the versions as labels).
 */
export function registerProcessMetrics(registry: Registry, component: MetricsComponent): void {
  const prefix = `kvraft_${component}_`;
  collectDefaultMetrics({ register: registry, prefix });
  // prom-client exports these totals of live handles as gauges named like counters, which
  // promtool rightly flags; the same counts are in nodejs_active_{handles,requests,resources}.
  for (const name of ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"]) {
    registry.removeSingleMetric(`${prefix}${name}`);
  }
  const info = new Gauge({
    name: "kvraft_build_info", help: "The running KVRaft version and Node.js version (always 1).",
    labelNames: ["component", "version", "node_version"] as const, registers: [registry],
  });
  info.set({ component, version: VERSION, node_version: process.versions.node }, 1);
}
