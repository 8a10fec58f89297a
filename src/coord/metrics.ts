import { Counter, Gauge, Registry as MetricsRegistry } from "prom-client";
import type { ClusterView } from "./cluster-view.js";
import type { HeartbeatKind } from "./heartbeat.js";
import { registerProcessMetrics } from "../process-metrics.js";

export type HeartbeatResult = "accepted" | "stale" | "refused" | "mismatch" | "invalid" | "unauthenticated";

/**
 * The coordinator's own /metrics. Gauges are read from the view at scrape time, so they
 * always agree with GET /v1/cluster. Cluster ids are labels: their number is bounded by
 * clustersMax, so the series are too. Each coordinator owns its registry (not the
 * process-wide default), so tests can run several in one process.
 */
export class CoordinatorMetrics {
  readonly registry = new MetricsRegistry();
  private readonly heartbeats = new Counter({
    name: "kvraft_coord_heartbeats_total",
    help: "Register and heartbeat requests by kind and result (accepted, stale, refused, mismatch: of a cluster this coordinator does not serve, invalid, unauthenticated).",
    labelNames: ["kind", "result"] as const,
    registers: [this.registry],
  });

  constructor(view: () => readonly ClusterView[]) {
    registerProcessMetrics(this.registry, "coord");
    new Gauge({
      name: "kvraft_coord_members", help: "Members of each cluster by liveness (alive, unreachable).",
      labelNames: ["cluster_id", "liveness"] as const, registers: [this.registry],
      collect() {
        this.reset();
        for (const cluster of view()) {
          for (const liveness of ["alive", "unreachable"] as const) {
            this.set({ cluster_id: cluster.clusterId, liveness }, cluster.members.filter((m) => m.liveness === liveness).length);
          }
        }
      },
    });
    new Gauge({
      name: "kvraft_coord_leader_term", help: "The term of the member each cluster's view shows as leader (absent: no leader known).",
      labelNames: ["cluster_id"] as const, registers: [this.registry],
      collect() {
        this.reset();
        for (const cluster of view()) if (cluster.leader !== null) this.set({ cluster_id: cluster.clusterId }, cluster.leader.term);
      },
    });
    new Gauge({
      name: "kvraft_coord_leader_id", help: "The member each cluster's view shows as leader (0: none known).",
      labelNames: ["cluster_id"] as const, registers: [this.registry],
      collect() {
        this.reset();
        for (const cluster of view()) this.set({ cluster_id: cluster.clusterId }, cluster.leader?.id ?? 0);
      },
    });
    new Gauge({
      name: "kvraft_coord_clusters", help: "Clusters the coordinator tracks.", registers: [this.registry],
      collect() { this.set(view().length); },
    });
  }

  countHeartbeat(kind: HeartbeatKind, result: HeartbeatResult): void {
    this.heartbeats.inc({ kind, result });
  }
}
