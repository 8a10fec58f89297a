import http from "node:http";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { registerProcessMetrics } from "../../process-metrics.js";
import type { ClusterPhase } from "../types.js";

/** The operator's own metrics (not the servers'): reconciles, errors, how long, clusters by phase. */
export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconciles = new Counter({ name: "kvraft_operator_reconciles_total", help: "Reconciles run, by result (ok, error, paused)", labelNames: ["result"], registers: [this.registry] });
  readonly errors = new Counter({ name: "kvraft_operator_reconcile_errors_total", help: "Reconciles that failed and were requeued with backoff", registers: [this.registry] });
  readonly duration = new Histogram({
    name: "kvraft_operator_reconcile_duration_seconds", help: "Time to reconcile one cluster",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [this.registry],
  });
  readonly steps = new Counter({ name: "kvraft_operator_plan_steps_total", help: "Planner steps carried out, by kind", labelNames: ["kind"], registers: [this.registry] });
  readonly writes = new Counter({ name: "kvraft_operator_api_writes_total", help: "Objects written to the API server (applies and status writes), by kind", labelNames: ["kind"], registers: [this.registry] });
  readonly clustersByPhase = new Gauge({ name: "kvraft_operator_clusters", help: "KVRaftClusters by phase", labelNames: ["phase"], registers: [this.registry] });
  readonly leader = new Gauge({ name: "kvraft_operator_leader", help: "1 while this replica holds the leader Lease", registers: [this.registry] });
  readonly queueDepth = new Gauge({ name: "kvraft_operator_queue_depth", help: "Clusters waiting to be reconciled", registers: [this.registry] });
  readonly backups = new Counter({ name: "kvraft_operator_backups_total", help: "KVRaftBackups finished, by phase (Completed, Failed)", labelNames: ["phase"], registers: [this.registry] });
  /**
   * For an alert on backups that stopped: time() minus this, per cluster. Not "namespace":
   * Prometheus gives that name to the operator pod's own namespace when it scrapes.
   */
  readonly lastBackup = new Gauge({
    name: "kvraft_operator_backup_last_completed_timestamp_seconds", help: "When the last KVRaftBackup of a cluster completed (as its Job says), seconds since the epoch",
    labelNames: ["cluster_namespace", "cluster_name"], registers: [this.registry],
  });
  readonly scheduledSlots = new Counter({
    name: "kvraft_operator_scheduled_backup_slots_total", help: "Slots of KVRaftScheduledBackups decided on, by outcome (created, skipped: one still running, missed: past the starting deadline)",
    labelNames: ["outcome"], registers: [this.registry],
  });
  readonly backupsPruned = new Counter({ name: "kvraft_operator_backups_pruned_total", help: "KVRaftBackups pruned by a schedule's retention (each with a Job that removes its file)", registers: [this.registry] });
  private readonly phases = new Map<string, ClusterPhase>();

  constructor() {
    registerProcessMetrics(this.registry, "operator");
    // Both outcomes exist at 0 from the start, so increase() shows "none yet" rather than no data.
    for (const phase of ["Completed", "Failed"]) this.backups.inc({ phase }, 0);
    for (const outcome of ["created", "skipped", "missed"]) this.scheduledSlots.inc({ outcome }, 0);
  }

  /** Records the phase of one cluster (undefined: it is gone) and refreshes the gauge. */
  setPhase(key: string, phase: ClusterPhase | undefined): void {
    if (phase === undefined) this.phases.delete(key);
    else this.phases.set(key, phase);
    this.clustersByPhase.reset();
    for (const p of this.phases.values()) this.clustersByPhase.inc({ phase: p });
  }
}

/**
 * /metrics and /healthz on one port. /healthz answers 503 with the reason `problem()`
 * gives (the process is stuck: a restart is the remedy), 200 when it gives none.
 */
export function serveMetrics(metrics: OperatorMetrics, host: string, port: number, problem: () => string | undefined): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.url === "/metrics") {
      metrics.registry.metrics().then((text) => {
        res.writeHead(200, { "content-type": metrics.registry.contentType });
        res.end(text);
      }, (error: unknown) => {
        res.writeHead(500).end(String(error));
      });
      return;
    }
    if (req.url === "/healthz") {
      const reason = problem();
      res.writeHead(reason === undefined ? 200 : 503, { "content-type": "text/plain" }).end(reason === undefined ? "ok\n" : `unhealthy: ${reason}\n`);
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("not found: try /metrics or /healthz\n");
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}
